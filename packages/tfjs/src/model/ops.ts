import { tf } from '../engine.ts'

/**
 * `table[rows]` for a 2-D table, with a gradient that scatter-adds in JS (none into `paddingRow`). tf.gather's own gradient
 * needs UnsortedSegmentSum, which the wasm engine lacks; this works on every engine.
 */
export function gatherRows(table: tf.Tensor2D, rows: Int32Array, paddingRow?: number): tf.Tensor2D {
  const [count, width] = table.shape
  const op = tf.customGrad((t) => {
    const index = tf.tensor1d(rows, 'int32')
    const value = tf.gather(t as tf.Tensor2D, index) as tf.Tensor2D // [rows.length, width]
    index.dispose()
    const gradFunc = (dy: tf.Tensor): tf.Tensor => {
      const upstream = dy.dataSync() as Float32Array // [rows.length, width]
      const grad = new Float32Array(count * width)
      for (let r = 0; r < rows.length; r++) {
        if (rows[r] === paddingRow) continue // torch's Embedding(padding_idx): that row gets no gradient
        const dst = rows[r]! * width
        const src = r * width
        for (let c = 0; c < width; c++) grad[dst + c]! += upstream[src + c]!
      }
      return tf.tensor2d(grad, [count, width])
    }
    return { value, gradFunc }
  })
  return op(table) as tf.Tensor2D
}

/** Row mask `[n, 1]` with 1 where `ids[i]` is in `set`. */
export function rowMask(ids: Int32Array, set: ReadonlyMap<number, number>): Float32Array {
  const mask = new Float32Array(ids.length)
  for (let i = 0; i < ids.length; i++) if (set.has(ids[i]!)) mask[i] = 1
  return mask
}
