import { tf } from '../engine.ts'
import type { AdapterState } from '../methods/state.ts'
import { matMulT } from './matmul.ts'
import { gatherRows } from './ops.ts'
import type { DecoderModel, TokenBatch } from './types.ts'

/**
 * The position transformers' `*ForSequenceClassification` reads each row's score at: the last
 * token that is not `padId` (`(arange(seq) * (ids != pad)).argmax(-1)`, 0 for a row of padding
 * only), among the row's real tokens (segment ≥ 0). Flat indices into [batch * seq].
 */
export function lastTokenPositions(batch: Pick<TokenBatch, 'batch' | 'seq' | 'ids' | 'segments'>, padId: number): Int32Array {
  const out = new Int32Array(batch.batch)
  for (let r = 0; r < batch.batch; r++) {
    let last = 0
    for (let t = 0; t < batch.seq; t++) {
      const i = r * batch.seq + t
      if (batch.segments[i]! >= 0 && batch.ids[i] !== padId) last = t
    }
    out[r] = r * batch.seq + last
  }
  return out
}

/** The head `score.weight` [1, hidden]: LoRA's saved module, full fine-tuning's trained tensor, or a merged reward model's own. */
export function scoreWeight(model: DecoderModel, adapter: AdapterState | undefined): tf.Tensor2D {
  const w = adapter?.score ?? adapter?.weights.get('score.weight') ?? model.score
  if (!w) throw new Error('score head: neither the model nor the method state holds score.weight (the rm stage trains it)')
  return w as tf.Tensor2D
}

/** Rewards [batch] = score(hidden at each row's last token): `hidden[last] · scoreᵀ` (Linear(hidden, 1, bias=False)). */
export function scoreRewards(hidden: tf.Tensor2D, positions: Int32Array, weight: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.reshape(matMulT(gatherRows(hidden, positions), weight), [-1]) as tf.Tensor1D)
}
