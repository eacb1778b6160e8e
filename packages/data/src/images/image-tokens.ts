// The image tokens of a vision-language model: which token each `<image>` placeholder becomes and
// how many. The ids and the count come from core's reading of config.json (the family's
// VisionConfig: visionConfigOf, visionTokens, imageTokenCount); here they are found in the
// tokenizer's added tokens.
import { fail, imageTokenCount, isTunekitError, visionConfigOf, visionTokens, type VisionConfig } from '@tunekit/core'
import type { Message } from '../formats/conversation.ts'
import { imagePlaceholder } from '../formats/images.ts'
import type { LoadedTokenizer, TokenId } from '../tokenizer/load.ts'

/** LLaVA: `<image>` × N; Qwen2-VL: `<|vision_start|>` + `<|image_pad|>` × N + `<|vision_end|>`, as their processors expand it. `vision` is config.json's, as core reads it. */
export type ImageTokens =
  | { kind: 'llava'; image: TokenId; vision: VisionConfig }
  | { kind: 'qwen2_vl'; image: TokenId; start: TokenId; end: TokenId; vision: VisionConfig }

/** The image tokens of config.json (core's visionConfigOf: `image_token_index` / `image_token_id`, Qwen2-VL's vision start and end) in `tok`'s added tokens. */
export function imageTokensOf(config: Record<string, unknown>, tok: Pick<LoadedTokenizer, 'json'>, folder: string): ImageTokens {
  const bad = (reason: string): never => fail('ImageModelUnsupported', { path: `${folder}/config.json`, value: folder }, folder, reason)
  let vision: VisionConfig | undefined
  try {
    vision = visionConfigOf(config)
  } catch (e) {
    // a field of the vision side is not what the family reads: its BadModelConfig, said of this folder
    if (!isTunekitError(e)) throw e
    return bad(`config.json's ${e.issues[0]?.path ?? 'vision fields'} ${e.issues[0]?.value === undefined ? 'is missing' : `is ${JSON.stringify(e.issues[0].value)}`}`)
  }
  if (!vision) return bad(`config.json's model_type is ${JSON.stringify(config.model_type)}, which has no image tokens (tunekit takes images for llava and qwen2_vl)`)
  const byField = new Map(visionTokens(vision).map((t) => [t.field, t]))
  const token = (field: string): TokenId => {
    const id = byField.get(field)!.id
    const added = tok.json.added_tokens.find((t) => t.id === id)
    return added ? { token: added.content, id } : bad(`config.json's ${field} ${id} is not an added token of tokenizer.json, so the text cannot hold it as one token`)
  }
  if (vision.kind === 'llava') return { kind: 'llava', image: token('image_token_index'), vision }
  return { kind: 'qwen2_vl', image: token('image_token_id'), start: token('vision_start_token_id'), end: token('vision_end_token_id'), vision }
}

/** Image tokens one preprocessed image expands to (without Qwen2-VL's start and end), from config.json's vision side. */
export const imageTokenCountOf = (t: ImageTokens, gridThw?: readonly number[]): number => imageTokenCount(t.vision, gridThw)

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
