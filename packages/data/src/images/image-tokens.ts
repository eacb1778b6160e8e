// The image tokens of a vision-language model: which token each `<image>` placeholder becomes, from
// config.json's ids and the tokenizer's added tokens. (The families' own modules may take this
// over; until then the data side reads config.json here, and only here.)
import { fail } from '@tunekit/core'
import type { Message } from '../formats/conversation.ts'
import { imagePlaceholder } from '../formats/images.ts'
import type { LoadedTokenizer, TokenId } from '../tokenizer/load.ts'

/** LLaVA: `<image>` × N; Qwen2-VL: `<|vision_start|>` + `<|image_pad|>` × N + `<|vision_end|>`, as their processors expand it. */
export type ImageTokens =
  | { kind: 'llava'; image: TokenId }
  | { kind: 'qwen2_vl'; image: TokenId; start: TokenId; end: TokenId }

const modelTypes: Record<string, ImageTokens['kind']> = { llava: 'llava', qwen2_vl: 'qwen2_vl', qwen2_5_vl: 'qwen2_vl' }

/** The model kind behind config.json's `model_type`, or undefined for a model without image tokens. */
export const imageModelKind = (config: Record<string, unknown>): ImageTokens['kind'] | undefined => modelTypes[String(config.model_type)]

/** The image tokens of config.json (`image_token_index` / `image_token_id`, Qwen2-VL's vision start and end) in `tok`'s added tokens. */
export function imageTokensOf(config: Record<string, unknown>, tok: Pick<LoadedTokenizer, 'json'>, folder: string): ImageTokens {
  const bad = (reason: string): never => fail('ImageModelUnsupported', { path: `${folder}/config.json`, value: folder }, folder, reason)
  const kind = imageModelKind(config) ?? bad(`config.json's model_type is ${JSON.stringify(config.model_type)}, which has no image tokens (tunekit takes images for llava and qwen2_vl)`)
  const token = (key: string, alias?: string): TokenId => {
    const id = config[key] ?? (alias ? config[alias] : undefined)
    if (typeof id !== 'number') return bad(`config.json has no ${key}`)
    const added = tok.json.added_tokens.find((t) => t.id === id)
    return added ? { token: added.content, id } : bad(`config.json's ${key} ${id} is not an added token of tokenizer.json, so the text cannot hold it as one token`)
  }
  if (kind === 'llava') return { kind, image: token('image_token_index', 'image_token_id') }
  return { kind, image: token('image_token_id'), start: token('vision_start_token_id'), end: token('vision_end_token_id') }
}

/** The ids an expanded image is made of: never labels. */
export const imageTokenIds = (t: ImageTokens): number[] => (t.kind === 'llava' ? [t.image.id] : [t.image.id, t.start.id, t.end.id])

/** The text one image of `count` image tokens takes in place of its `<image>`. */
export const expandedImage = (t: ImageTokens, count: number): string =>
  t.kind === 'llava' ? t.image.token.repeat(count) : `${t.start.token}${t.image.token.repeat(count)}${t.end.token}`

/** The messages with the k-th `<image>` (in message order) replaced by the k-th expansion. */
export function expandPlaceholders(messages: readonly Message[], expansions: readonly string[]): Message[] {
  let k = 0
  return messages.map((m) => {
    const parts = m.content.split(imagePlaceholder)
    if (parts.length === 1) return m
    return { ...m, content: parts.reduce((text, part) => `${text}${expansions[k++]}${part}`) }
  })
}
