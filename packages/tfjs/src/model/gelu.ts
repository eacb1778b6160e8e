import { tf } from '../engine.ts'

/** GELU in the exact erf form, transformers' `"gelu"`: `x · ½ (1 + erf(x / √2))`. */
export function gelu(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))) as tf.Tensor2D)
}
