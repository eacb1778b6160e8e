import { tf } from '../engine.ts'

/** LayerNorm over the last axis: `(x - mean) / sqrt(var + eps) * weight + bias`, biased variance (torch.nn.LayerNorm). */
export function layerNorm(x: tf.Tensor2D, weight: tf.Tensor1D, bias: tf.Tensor1D, eps: number): tf.Tensor2D {
  return tf.tidy(() => {
    const mean = tf.mean(x, -1, true)
    const centred = tf.sub(x, mean)
    const variance = tf.mean(tf.square(centred), -1, true)
    return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, eps))), weight), bias) as tf.Tensor2D
  })
}
