import { z } from 'zod'

export const sftStageSchema = z.strictObject({
  /**
   * Supervised fine-tuning: conversations rendered by `data.template`, loss on the turns
   * `data.mask` picks. No memory effect by itself.
   * @defaultValue 'sft'
   * @see https://huggingface.co/docs/trl/sft_trainer
   */
  kind: z.literal('sft'),
})

export const pretrainStageSchema = z.strictObject({
  /**
   * Continued pretraining on raw text (`data.format: 'text'`): no chat template, eos appended to
   * every document, every token trained, documents packed by default. No memory effect by itself.
   * @defaultValue (required) `'pretrain'`
   * @see https://github.com/hiyouga/LLaMA-Factory/blob/main/examples/README.md (stage: pt)
   */
  kind: z.literal('pretrain'),
})

/** The training stage: a discriminated union on `kind` (one member per file in core/src/stages/). */
export const stageSchema = z.discriminatedUnion('kind', [sftStageSchema, pretrainStageSchema])

export type StageOptions = z.output<typeof stageSchema>
export type StageKind = StageOptions['kind']

/**
 * The data keys whose default depends on the stage, as their TSDoc `@defaultValue` says:
 * `parseRecipe` fills the ones a recipe leaves out. Part of the recipe schema, next to it.
 */
export const stageDataDefaults = {
  sft: { template: 'chatml', mask: 'assistant', packing: false },
  pretrain: { mask: 'all', packing: true },
} as const satisfies Record<StageKind, { template?: 'chatml'; mask: 'all' | 'assistant'; packing: boolean }>
