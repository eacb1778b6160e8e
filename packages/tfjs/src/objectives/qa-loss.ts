// The extractive-QA loss as transformers computes it (BertForQuestionAnswering,
// `ForQuestionAnsweringLoss`): positions are clamped to [0, seq], seq is the ignored index, and
//   loss = (CE(start_logits, start_positions) + CE(end_logits, end_positions)) / 2,
// each cross-entropy the mean over the rows not ignored, softmax over every position of the row
// (padding included: transformers does not mask the logits).
import { tf } from '../engine.ts'
import { crossEntropySum } from '../train/loss.ts'
import type { QaLogits } from '../model/encoder.ts'

/** Mean cross-entropy of `logits` [rows, seq] against `targets`, rows whose target is `ignored` left out. */
function meanCrossEntropy(logits: tf.Tensor2D, targets: Int32Array, ignored: number): tf.Scalar {
  return tf.tidy(() => {
    const rows = [...targets.keys()].filter((r) => targets[r] !== ignored)
    if (rows.length === 0) return tf.scalar(0)
    const kept = rows.length === targets.length ? logits : (tf.gather(logits, tf.tensor1d(rows, 'int32')) as tf.Tensor2D)
    return tf.div(crossEntropySum(kept, Int32Array.from(rows, (r) => targets[r]!)), rows.length) as tf.Scalar
  })
}

/** `(CE(start) + CE(end)) / 2` over a batch; `starts` and `ends` are token indices, one per row. */
export function qaLoss(logits: QaLogits, starts: Int32Array, ends: Int32Array): tf.Scalar {
  return tf.tidy(() => {
    const seq = logits.start.shape[1]
    const clamp = (p: Int32Array) => Int32Array.from(p, (x) => Math.min(Math.max(x, 0), seq))
    return tf.div(tf.add(meanCrossEntropy(logits.start, clamp(starts), seq), meanCrossEntropy(logits.end, clamp(ends), seq)), 2) as tf.Scalar
  })
}
