import { ropeFrequencies, type RopeSettings } from '@tunekit/core'
import { tf } from '../engine.ts'

/**
 * Rotary embedding tables for the given position ids, in transformers' layout:
 * `emb = cat(freqs, freqs)` with `freqs = position * inv_freq`, so rotate_half pairs `i` with `i + dim/2`;
 * inv_freq and the cos/sin factor as the config's rope scaling gives them (rope-scaling.ts in core).
 * Computed in float32 like transformers. Returns cos and sin, each `[count, dim]`.
 */
export function ropeTables(positions: Int32Array, rope: RopeSettings): { cos: Float32Array; sin: Float32Array } {
  const dim = rope.dim
  const half = dim / 2
  // dynamic NTK reads the batch's longest position, as transformers' `max(position_ids) + 1`
  const seqLen = positions.reduce((m, p) => Math.max(m, p), 0) + 1
  const { invFreq, attentionScaling } = ropeFrequencies(rope, seqLen)
  const cos = new Float32Array(positions.length * dim)
  const sin = new Float32Array(positions.length * dim)
  for (let t = 0; t < positions.length; t++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(positions[t]! * invFreq[i]!)
      const c = Math.fround(Math.cos(angle) * attentionScaling)
      const s = Math.fround(Math.sin(angle) * attentionScaling)
      cos[t * dim + i] = c
      cos[t * dim + i + half] = c
      sin[t * dim + i] = s
      sin[t * dim + i + half] = s
    }
  }
  return { cos, sin }
}

/** `x * cos + rotate_half(x) * sin` with rotate_half(x) = cat(-x2, x1). x: [batch, heads, seq, dim]; cos, sin: [batch, 1, seq, dim]. */
export function applyRope(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const half = x.shape[3] / 2
    const [x1, x2] = tf.split(x, [half, half], 3)
    const rotated = tf.concat([tf.neg(x2!), x1!], 3)
    return tf.add(tf.mul(x, cos), tf.mul(rotated, sin)) as tf.Tensor4D
  })
}
