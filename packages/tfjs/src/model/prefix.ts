import type { ModelConfig } from '@tunekit/core'
import { tf } from '../engine.ts'
import type { KvEntry } from './attention.ts'
import { MASKED } from './mask.ts'
import type { TokenBatch } from './types.ts'

// Prefix tuning in the forward pass, as PEFT's PeftModelForCausalLM runs it: each layer's n trained
// keys and values are the attention's past (a DynamicCache at cache positions 0…n−1, no rotary
// embedding applied to them); the row's tokens come after, at positions n…n+len−1 (transformers
// counts them from the cache length; PEFT shifts given position ids by n), and every token sees
// the whole prefix (PEFT's attention mask puts n ones first), within the sliding window if any.

/**
 * The per-layer past of a prefix [n, layers · 2 · kvDim], read as PEFT views it
 * ([n, layers · 2, kvHeads, headDim], then [layers · 2, batch, kvHeads, n, headDim]): layer i's keys
 * are slot 2i, its values 2i + 1; each [batch, kvHeads, n, headDim].
 */
export function prefixPast(c: ModelConfig, prefix: tf.Tensor2D, batch: number): KvEntry[] {
  const n = prefix.shape[0]
  const slots = tf.transpose(tf.reshape(prefix, [n, c.numHiddenLayers * 2, c.numKeyValueHeads, c.headDim]), [1, 2, 0, 3]) // [layers·2, kvHeads, n, headDim]
  const slot = (s: number): tf.Tensor4D => tf.tile(tf.reshape(tf.slice(slots, [s, 0, 0, 0], [1, -1, -1, -1]), [1, c.numKeyValueHeads, n, c.headDim]), [batch, 1, 1, 1])
  return Array.from({ length: c.numHiddenLayers }, (_, i) => ({ k: slot(2 * i), v: slot(2 * i + 1) }))
}

/** The batch with every position shifted by n (the row follows n cached positions). */
export function afterPrefix(batch: TokenBatch, n: number): TokenBatch {
  return { ...batch, positions: batch.positions.map((p) => p + n) }
}

/**
 * A row mask [batch, 1, seq, seq] (additive) widened to [batch, 1, seq, n + seq]: the prefix
 * columns first, visible to every query within the sliding window (query at position n + i sees
 * prefix position j when n + i − j < window).
 */
export function withPrefixColumns(rows: Float32Array, batch: number, seq: number, n: number, window: number | null): Float32Array {
  const width = n + seq
  const mask = new Float32Array(batch * seq * width)
  for (let r = 0; r < batch * seq; r++) {
    const i = r % seq
    for (let j = 0; j < n; j++) if (window !== null && n + i - j >= window) mask[r * width + j] = MASKED
    mask.set(rows.subarray(r * seq, (r + 1) * seq), r * width + n)
  }
  return mask
}
