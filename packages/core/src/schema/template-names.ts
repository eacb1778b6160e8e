/**
 * The built-in chat templates `data.template` names (their Jinja text is @tunekit/data's
 * `builtinTemplates`): the schema's enum, the families' and checkpoints' defaults.
 */
export const builtinTemplateNames = ['chatml', 'llama-2', 'mistral-instruct', 'llama-3', 'gemma', 'phi-3', 'alpaca', 'llava'] as const

export type BuiltinTemplateName = (typeof builtinTemplateNames)[number]
