import type { ModelConfig } from '@tunekit/core'
import type { FloatTensor } from '@tunekit/data/model'

/**
 * Grows a `[rows, hidden]` embedding (or lm_head) to `vocab` rows for added tokens. New rows are
 * the mean of the existing rows (transformers' `resize_token_embeddings` centres new rows on the
 * mean too, and adds noise; tunekit keeps the exact mean so both backends agree bit for bit).
 */
export function growRows(t: FloatTensor, vocab: number): FloatTensor {
  const [rows, hidden] = t.shape as [number, number]
  if (vocab <= rows) return t
  const data = new Float32Array(vocab * hidden)
  data.set(t.data)
  const mean = new Float64Array(hidden)
  for (let r = 0; r < rows; r++) for (let c = 0; c < hidden; c++) mean[c]! += t.data[r * hidden + c]!
  for (let r = rows; r < vocab; r++) for (let c = 0; c < hidden; c++) data[r * hidden + c] = mean[c]! / rows
  return { shape: [vocab, hidden], data }
}

/** Weight names that hold vocabulary rows. */
export const VOCAB_WEIGHTS = new Set(['model.embed_tokens.weight', 'lm_head.weight'])

/** The config after resizing to `vocab` rows (never shrinks). */
export function resizedConfig(config: ModelConfig, vocab: number | undefined): ModelConfig {
  return vocab !== undefined && vocab > config.vocabSize ? { ...config, vocabSize: vocab } : config
}
