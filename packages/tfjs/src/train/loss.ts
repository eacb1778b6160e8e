import { tf } from '../engine.ts'
import type { ForwardOptions } from '../lora/layer.ts'
import type { AdapterState } from '../lora/model.ts'
import { forwardHidden, headLogits } from '../model/llama.ts'
import { gatherRows } from '../model/ops.ts'
import type { DecoderModel } from '../model/types.ts'
import type { TrainBatch } from './batch.ts'

/**
 * Summed next-token cross-entropy over the batch's trained positions (a scalar). Logits are
 * computed only for those rows, so prompt tokens cost no vocabulary matmul.
 */
export function lossSum(model: DecoderModel, adapter: AdapterState | undefined, batch: TrainBatch, opts: ForwardOptions & { gradientCheckpointing?: boolean } = {}): tf.Scalar {
  return tf.tidy(() => {
    const rows: number[] = []
    const targets: number[] = []
    batch.targets.forEach((t, i) => {
      if (t >= 0) {
        rows.push(i)
        targets.push(t)
      }
    })
    if (rows.length === 0) return tf.scalar(0)
    const hidden = forwardHidden(model, adapter, batch, opts) // [batch * seq, hidden]
    const logits = headLogits(model, adapter, gatherRows(hidden, Int32Array.from(rows))) // [trained, vocab]
    const logProbs = tf.logSoftmax(logits, -1)
    const picked = tf.oneHot(tf.tensor1d(targets, 'int32'), model.config.vocabSize, 1, 0, 'float32')
    return tf.neg(tf.sum(tf.mul(logProbs, picked))) as tf.Scalar
  })
}
