import type { Shards } from '../shards/shards.ts'
import type { MicroBatch } from './batch-plan.ts'

/** A micro-batch as flat row-major arrays, `[rows, length]`, ready for a tensor library. */
export interface BatchArrays {
  rows: number
  length: number
  /** Token ids; padding holds the pad id. */
  ids: Int32Array
  /** 1 where the token is a label target (padding is never a label, whatever its id). */
  mask: Uint8Array
  /** Position ids, restarting at 0 in each segment; 0 on padding. */
  positions: Int32Array
  /** Segment number within the row (attention stays inside one); -1 on padding. */
  segments: Int32Array
}

/**
 * Fills a micro-batch from shards: right padding to `batch.length`, segments back to back. The
 * first token of every segment gets mask 0 so that no label crosses a segment boundary.
 */
export function materializeBatch(shards: Shards, batch: MicroBatch): BatchArrays {
  const rows = batch.rows.length
  const length = batch.length
  const ids = new Int32Array(rows * length).fill(shards.index.padId)
  const mask = new Uint8Array(rows * length)
  const positions = new Int32Array(rows * length)
  const segments = new Int32Array(rows * length).fill(-1)
  batch.rows.forEach((row, r) => {
    let at = r * length
    row.forEach((seg, k) => {
      const from = shards.index.offsets[seg.sample]! + seg.start
      ids.set(shards.ids.subarray(from, from + seg.length), at)
      mask.set(shards.mask.subarray(from, from + seg.length), at)
      mask[at] = 0
      for (let t = 0; t < seg.length; t++) {
        positions[at + t] = t
        segments[at + t] = k
      }
      at += seg.length
    })
  })
  return { rows, length, ids, mask, positions, segments }
}
