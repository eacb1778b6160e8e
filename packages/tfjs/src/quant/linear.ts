import { tf } from '../engine.ts'
import { dequantizeInt8, quantizeInt8 } from './int8.ts'
import { dequantizeNf4, quantizeNf4 } from './nf4.ts'
import type { QuantizedWeight } from './types.ts'

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
    const weight = tf.tensor2d(dequantize(q), q.shape) // [out, in]
    const value = tf.matMul(input as tf.Tensor2D, weight, false, true) // [n, out]
    weight.dispose()
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
