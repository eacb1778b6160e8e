import { spanEncoder } from './encode-spans.ts'
import type { LoadedTokenizer } from '../tokenizer/load.ts'

/**
 * Ids of already-rendered prompt text, as tokenize encodes a conversation: added tokens stay whole,
 * bos first when the tokenizer adds one and the text does not start with it. Both backends'
 * generation starts from these ids, so they answer the same prompt token for token.
 */
export function encodePrompt(tok: LoadedTokenizer, text: string): number[] {
  const { ids } = spanEncoder(tok).encode(text, [], false)
  return tok.addBos && tok.bos && !text.startsWith(tok.bos.token) ? [tok.bos.id, ...ids] : ids
}
