import type { BatchArrays } from '@tunekit/data'
import type { TokenBatch } from '../model/types.ts'

/** A micro-batch with next-token targets: `targets[t] = ids[t+1]` where `mask[t+1] = 1`, else -1. */
export interface TrainBatch extends TokenBatch {
  targets: Int32Array
  /** Number of targets ≥ 0 (trained tokens). */
  trained: number
}

/** Shifts the label mask by one: the loss at position t predicts token t+1 (docs/architecture.md). */
export function toTrainBatch(arrays: BatchArrays): TrainBatch {
  const { rows, length, ids, mask } = arrays
  const targets = new Int32Array(rows * length).fill(-1)
  let trained = 0
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t + 1 < length; t++) {
      const next = r * length + t + 1
      if (mask[next] === 1) {
        targets[next - 1] = ids[next]!
        trained++
      }
    }
  }
  return { batch: rows, seq: length, ids, positions: arrays.positions, segments: arrays.segments, targets, trained }
}

/** A single sequence as a batch of one (every token its own segment 0), labelled where `mask` is 1. */
export function sequenceBatch(ids: ArrayLike<number>, mask: ArrayLike<number>): TrainBatch {
  const n = ids.length
  return toTrainBatch({
    rows: 1,
    length: n,
    ids: Int32Array.from(ids),
    mask: Uint8Array.from(mask),
    positions: Int32Array.from({ length: n }, (_, i) => i),
    segments: new Int32Array(n),
  })
}
