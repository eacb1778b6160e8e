import type { ModelConfig } from '@tunekit/core'
import { tf } from '../engine.ts'
import { matMul, swapLast } from './matmul.ts'

/** Keys and values of the tokens seen so far, one entry per layer: [1, kvHeads, past, headDim]. */
export interface KvEntry {
  k: tf.Tensor4D
  v: tf.Tensor4D
}

/**
 * Scaled dot-product attention with grouped-query heads, without repeating K/V: the query heads
 * that share a key/value head are stacked along the sequence axis.
 * q: [batch, heads, seqQ, headDim]; k, v: [batch, kvHeads, seqK, headDim]; mask: [batch, 1, seqQ, seqK] additive.
 * Returns [batch, heads, seqQ, headDim].
 */
export function groupedAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, mask: tf.Tensor4D, config: ModelConfig): tf.Tensor4D {
  return tf.tidy(() => {
    const [batch, heads, seqQ, headDim] = q.shape
    const kvHeads = config.numKeyValueHeads
    const group = heads / kvHeads // query heads per kv head (head h uses kv head floor(h / group), as repeat_kv)
    const seqK = k.shape[2]
    const qg = tf.reshape(q, [batch, kvHeads, group * seqQ, headDim])
    // Gemma 2 scales by query_pre_attn_scalar and soft-caps the scores before the mask
    const g2 = config.gemma2
    const raw = tf.mul(matMul(qg, swapLast(k)), 1 / Math.sqrt(g2 ? g2.queryPreAttnScalar : headDim)) // [batch, kvHeads, group*seqQ, seqK]
    const scores = g2?.attnLogitSoftcapping ? softcap(raw, g2.attnLogitSoftcapping) : raw
    const masked = tf.add(tf.reshape(scores, [batch, kvHeads, group, seqQ, seqK]), tf.reshape(mask, [batch, 1, 1, seqQ, seqK]))
    const probs = tf.reshape(tf.softmax(masked, -1), [batch, kvHeads, group * seqQ, seqK])
    return tf.reshape(matMul(probs, v), [batch, heads, seqQ, headDim]) as tf.Tensor4D
  })
}

/** `cap · tanh(x / cap)`: Gemma 2's soft-capping of attention scores and final logits. */
export function softcap<T extends tf.Tensor>(x: T, cap: number): T {
  return tf.tidy(() => tf.mul(tf.tanh(tf.div(x, cap)), cap) as T)
}

/** [batch * seq, heads * headDim] → [batch, heads, seq, headDim] */
export function splitHeads(x: tf.Tensor2D, batch: number, seq: number, heads: number, headDim: number): tf.Tensor4D {
  return tf.transpose(tf.reshape(x, [batch, seq, heads, headDim]), [0, 2, 1, 3])
}

/** [batch, heads, seq, headDim] → [batch * seq, heads * headDim] */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor2D {
  const [batch, heads, seq, headDim] = x.shape
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [batch * seq, heads * headDim])
}
