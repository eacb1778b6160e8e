import type { LoadedTokenizer } from '../tokenizer/load.ts'
import { renderChat, type ChatTemplate } from './render.ts'

/**
 * The chat template as saved with the tokenizer: the training template, with `{{ bos_token }}` in
 * front when tunekit puts bos before every sample (`tokens.addBos`, the tokenizer's
 * `add_bos_token`) and the template does not write it itself (ChatML). transformers'
 * `apply_chat_template(..., tokenize=True)` adds no special tokens of its own, so without this a
 * prompt built from the saved template lacks the bos every training sample began with.
 */
export function savedChatTemplate(template: ChatTemplate, tok: Pick<LoadedTokenizer, 'addBos' | 'bos'>): string {
  if (!tok.addBos || !tok.bos) return template.jinja
  const writesBos = renderChat(template, [{ role: 'user', content: 'x' }], true).startsWith(tok.bos.token)
  return writesBos ? template.jinja : `{{ bos_token }}${template.jinja}`
}
