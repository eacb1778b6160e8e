import { tf } from '../engine.ts'
import type { AdapterState } from '../methods/state.ts'
import type { TokenBatch } from './types.ts'

// Prompt tuning's (and P-tuning's) virtual tokens in the forward pass, as PEFT's PeftModelForCausalLM runs them:
// the n trained embeddings go before each row's token embeddings, positions count from 0 over the
// longer row (PEFT drops position ids), the row's tokens attend to all of them; the hidden states of
// the virtual positions are dropped again, so logits and losses see the row as it was.

/** The virtual tokens [n, hidden] of prompt tuning (its variable) or P-tuning (its encoder's output); none for other methods. */
export function virtualPrompt(adapter: AdapterState | undefined, training: boolean): tf.Tensor2D | undefined {
  return adapter?.prompt ?? adapter?.promptEncoder?.(training)
}

/** The batch n positions longer: virtual tokens first, in the segment of the row's first token. */
export function withVirtualTokens(batch: TokenBatch, n: number): TokenBatch {
  const seq = batch.seq + n
  const ids = new Int32Array(batch.batch * seq)
  const positions = new Int32Array(batch.batch * seq)
  const segments = new Int32Array(batch.batch * seq)
  for (let r = 0; r < batch.batch; r++) {
    for (let t = 0; t < seq; t++) {
      const at = r * seq + t
      const from = r * batch.seq + Math.max(0, t - n)
      positions[at] = t
      segments[at] = batch.segments[t < n ? r * batch.seq : from]!
      ids[at] = t < n ? 0 : batch.ids[from]!
    }
  }
  return { batch: batch.batch, seq, ids, positions, segments }
}

/** `[prompt; row]` for each row: hidden [batch * seq, h], prompt [n, h] → [batch * (n + seq), h]. */
export function prependVirtual(hidden: tf.Tensor2D, prompt: tf.Tensor2D, batch: number, seq: number): tf.Tensor2D {
  return tf.tidy(() => {
    const [n, h] = prompt.shape
    const rows = tf.reshape(hidden, [batch, seq, h])
    const virtual = tf.tile(tf.reshape(prompt, [1, n, h]), [batch, 1, 1])
    return tf.reshape(tf.concat([virtual, rows], 1), [batch * (n + seq), h]) as tf.Tensor2D
  })
}

/** The rows' own positions again: [batch * (n + seq), h] → [batch * seq, h]. */
export function dropVirtual(hidden: tf.Tensor2D, batch: number, n: number, seq: number): tf.Tensor2D {
  return tf.tidy(() => {
    const h = hidden.shape[1]
    return tf.reshape(tf.slice(tf.reshape(hidden, [batch, n + seq, h]), [0, n, 0], [batch, seq, h]), [batch * seq, h]) as tf.Tensor2D
  })
}
