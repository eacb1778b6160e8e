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
    const vocab = model.config.vocabSize
    const logProbs = tf.reshape(tf.logSoftmax(logits, -1), [rows.length * vocab, 1])
    // log p(target) of each row, picked by flat index (tf.oneHot ignores dtype on wasm: no one-hot here).
    const picked = gatherRows(logProbs as tf.Tensor2D, Int32Array.from(targets, (t, r) => r * vocab + t))
    return tf.neg(tf.sum(picked)) as tf.Scalar
  })
}
