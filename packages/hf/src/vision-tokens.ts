// A random vision-language model's tokenizer needs its image tokens (`<image>`, Qwen2-VL's
// `<|vision_start|>` …): a tokenizer that lacks one gets it as an added special token at the next
// id, and config.json's id field follows, so placeholders expand to ids the embedding has.
import { visionTokens, type ModelConfig, type VisionConfig } from '@tunekit/core'
import { tokenizerIdCount } from './inspect-folder.ts'

interface TokenizerJson {
  model?: { vocab?: unknown }
  added_tokens?: Array<{ id?: unknown; content?: unknown; [key: string]: unknown }>
}

/** Ids of the tokens a tokenizer.json already has, by text (its vocabulary and added tokens). */
function knownIds(json: TokenizerJson): Map<string, number> {
  const ids = new Map<string, number>()
  const vocab = json.model?.vocab
  if (vocab && typeof vocab === 'object' && !Array.isArray(vocab)) for (const [k, v] of Object.entries(vocab)) if (typeof v === 'number') ids.set(k, v)
  for (const t of json.added_tokens ?? []) if (typeof t.content === 'string' && typeof t.id === 'number') ids.set(t.content, t.id)
  return ids
}

/**
 * The tokenizer.json and config with every vision token present: kept where the tokenizer has it
 * (config.json's id set to the tokenizer's), else added. `added` lists the tokens added.
 */
export function withVisionTokens(tokenizer: TokenizerJson, config: ModelConfig): { tokenizer: TokenizerJson; config: ModelConfig; added: string[] } {
  if (!config.vision) return { tokenizer, config, added: [] }
  const ids = knownIds(tokenizer)
  let next = tokenizerIdCount(tokenizer)
  const addedTokens = [...(tokenizer.added_tokens ?? [])]
  const added: string[] = []
  const fields: Record<string, number> = {}
  for (const t of visionTokens(config.vision)) {
    let id = ids.get(t.content)
    if (id === undefined) {
      id = next++
      addedTokens.push({ id, content: t.content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })
      added.push(t.content)
    }
    fields[t.field] = id
  }
  const vision = withIds(config.vision, fields)
  return { tokenizer: { ...tokenizer, added_tokens: addedTokens }, config: { ...config, vocabSize: Math.max(config.vocabSize, next), vision }, added }
}

function withIds(v: VisionConfig, f: Record<string, number>): VisionConfig {
  if (v.kind === 'llava') return { ...v, imageTokenId: f.image_token_index ?? v.imageTokenId }
  return {
    ...v,
    imageTokenId: f.image_token_id ?? v.imageTokenId, visionStartTokenId: f.vision_start_token_id ?? v.visionStartTokenId,
    visionEndTokenId: f.vision_end_token_id ?? v.visionEndTokenId, videoTokenId: f.video_token_id ?? v.videoTokenId,
  }
}
