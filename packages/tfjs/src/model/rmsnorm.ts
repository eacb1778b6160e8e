import type { ModelConfig } from '@tunekit/core'
import { tf } from '../engine.ts'

/** RMSNorm: `x / sqrt(mean(x²) + eps) * weight` over the last axis (transformers' LlamaRMSNorm). */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor1D, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const variance = tf.mean(tf.square(x), -1, true)
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(variance, eps))), weight)
  })
}

/** The model's RMSNorm: Gemma's applies `(1 + w)` (GemmaRMSNorm, weights stored zero-centred), the others `w`. */
export function modelNorm(config: ModelConfig, x: tf.Tensor, weight: tf.Tensor1D): tf.Tensor {
  return tf.tidy(() => rmsNorm(x, config.gemma ? tf.add(weight, 1) : weight, config.rmsNormEps))
}
