import type { FloatTensor } from './safetensors.ts'

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
