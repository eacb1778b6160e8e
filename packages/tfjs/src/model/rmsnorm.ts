import { tf } from '../engine.ts'

/** RMSNorm: `x / sqrt(mean(x²) + eps) * weight` over the last axis (transformers' LlamaRMSNorm). */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor1D, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const variance = tf.mean(tf.square(x), -1, true)
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(variance, eps))), weight)
  })
}
