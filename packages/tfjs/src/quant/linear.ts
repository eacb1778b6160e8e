import { tf } from '../engine.ts'
import { dequantizeInt8, quantizeInt8 } from './int8.ts'
import { dequantizeNf4, quantizeNf4 } from './nf4.ts'
import type { QuantizedWeight } from './types.ts'

/** [rows, cols] → [cols, rows] on the host. */
export function transposeHost(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length)
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!
  return out
}

export function dequantize(q: QuantizedWeight): Float32Array {
  return q.type === 'nf4' ? dequantizeNf4(q) : dequantizeInt8(q)
}

export function quantize(data: Float32Array, shape: [number, number], opts: { type: 'nf4' | 'int8'; blockSize?: number; doubleQuant?: boolean }): QuantizedWeight {
  return opts.type === 'nf4' ? quantizeNf4(data, shape, opts) : quantizeInt8(data, shape, opts)
}

/**
 * `x Wᵀ` with W stored packed. W is dequantised to float32 for this matmul only and again in the
 * backward pass (dx = dy W), so no float32 copy outlives the op. W is frozen: no gradient for it.
 */
export function quantizedMatmul(x: tf.Tensor2D, q: QuantizedWeight): tf.Tensor2D {
  const op = tf.customGrad((input) => {
    const [out, inF] = q.shape
    const weightT = tf.tensor2d(transposeHost(dequantize(q), out, inF), [inF, out]) // [in, out]: no transpose flag (matmul.ts)
    const value = tf.matMul(input as tf.Tensor2D, weightT) // [n, out]
    weightT.dispose()
    const gradFunc = (dy: tf.Tensor): tf.Tensor => {
      const w = tf.tensor2d(dequantize(q), q.shape)
      const dx = tf.matMul(dy as tf.Tensor2D, w) // [n, in]
      w.dispose()
      return dx
    }
    return { value, gradFunc }
  })
  return op(x) as tf.Tensor2D
}
