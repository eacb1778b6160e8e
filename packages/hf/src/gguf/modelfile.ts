// An Ollama Modelfile for an exported GGUF file (https://github.com/ollama/ollama/blob/main/docs/modelfile.md):
// FROM the file beside it, the chat template in Ollama's Go template language when it is ChatML,
// and the stop strings, so `ollama create <name> -f Modelfile` gives a model that chats as trained.

/** Whether a Jinja chat template is ChatML (`<|im_start|>role\ncontent<|im_end|>\n`). */
export function isChatml(jinja: string | undefined): boolean {
  return jinja !== undefined && jinja.includes('<|im_start|>') && jinja.includes('<|im_end|>')
}

// Renders what tunekit's ChatML template renders with add_generation_prompt: every message as
// <|im_start|>role\ncontent<|im_end|>\n, then <|im_start|>assistant\n. Ollama passes the SYSTEM
// message and the conversation in .Messages.
const CHATML_GO_TEMPLATE = `{{- range .Messages }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}<|im_start|>assistant
`

/**
 * The Modelfile text: `FROM ./<gguf path relative to the Modelfile>`, the TEMPLATE for ChatML (other templates stay as the
 * GGUF's `tokenizer.chat_template`, which Ollama reads itself) and one `PARAMETER stop` per stop string.
 */
export function modelfileText(ggufPath: string, chatTemplate: string | undefined, stops: readonly string[]): string {
  const lines = [`FROM ./${ggufPath.split('\\').join('/')}`, '']
  if (isChatml(chatTemplate)) lines.push(`TEMPLATE """${CHATML_GO_TEMPLATE}"""`, '')
  else lines.push('# The chat template is not ChatML: Ollama takes it from the GGUF file (tokenizer.chat_template).', '')
  const unique = [...new Set(isChatml(chatTemplate) ? ['<|im_end|>', '<|im_start|>', ...stops] : stops)]
  for (const s of unique) lines.push(`PARAMETER stop ${JSON.stringify(s)}`)
  return `${lines.join('\n')}\n`
}
