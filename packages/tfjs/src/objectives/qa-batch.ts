// A batch of QA windows padded to the longest, as transformers' DataCollatorWithPadding pads
// them: [PAD] ids, token type 0 and attention mask 0 after each row's tokens (padding on the
// right, so the start/end labels keep their indices).
import type { EncoderBatch } from '../model/encoder.ts'

/** One window's inputs and labels, as @tunekit/data's QaFeature holds them. */
export interface QaRow {
  ids: readonly number[]
  typeIds: readonly number[]
  startPosition: number
  endPosition: number
}

export interface QaTrainBatch extends EncoderBatch {
  starts: Int32Array
  ends: Int32Array
}

export function qaBatch(rows: readonly QaRow[], padId: number): QaTrainBatch {
  const seq = Math.max(...rows.map((r) => r.ids.length))
  const n = rows.length * seq
  const ids = new Int32Array(n).fill(padId)
  const typeIds = new Int32Array(n)
  const attentionMask = new Int32Array(n)
  rows.forEach((r, b) => {
    ids.set(r.ids, b * seq)
    typeIds.set(r.typeIds, b * seq)
    attentionMask.fill(1, b * seq, b * seq + r.ids.length)
  })
  return { batch: rows.length, seq, ids, typeIds, attentionMask, starts: Int32Array.from(rows, (r) => r.startPosition), ends: Int32Array.from(rows, (r) => r.endPosition) }
}
