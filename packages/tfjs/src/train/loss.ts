import { tf } from '../engine.ts'
import { fail } from '@tunekit/core'
import type { ForwardOptions, RouterRecord } from '../model/linear.ts'
import { loadBalancingLoss } from '../model/moe.ts'
import { withVirtualTokens } from '../model/virtual-tokens.ts'
import type { AdapterState } from '../methods/state.ts'
import { forwardHidden, headLogits } from '../model/decoder.ts'
import { gatherRows } from '../model/ops.ts'
import { headCrossEntropySum } from '../model/head-loss.ts'
import { kernelOptions } from '../model/kernel-options.ts'
import type { DecoderModel } from '../model/types.ts'
import type { TrainBatch } from './batch.ts'

/**
 * `Σ_rows logsumexp(logits) − logits[target]` with the fused gradient `dy · (softmax − onehot)`:
 * one pass over the [rows, vocab] logits each way instead of logSoftmax's chain of saved tensors.
 */
export function crossEntropySum(logits: tf.Tensor2D, targets: Int32Array): tf.Scalar {
  const [rows, vocab] = logits.shape
  const flat = Int32Array.from(targets, (t, r) => r * vocab + t) // index of each target logit in the flattened logits
  const op = tf.customGrad((input, save) => {
    const x = input as tf.Tensor2D
    const lse = tf.logSumExp(x, 1, true) // [rows, 1]
    ;(save as tf.GradSaveFunc)([x, lse])
    const value = tf.tidy(() => tf.sub(tf.sum(lse), tf.sum(tf.gather(tf.reshape(x, [rows * vocab]), tf.tensor1d(flat, 'int32')))))
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor =>
      tf.tidy(() => {
        const probs = tf.exp(tf.sub(saved[0]!, saved[1]!)) // softmax [rows, vocab]
        // tf.oneHot's float output is broken on wasm (it ignores dtype); cast its int32 output instead.
        const onehot = tf.cast(tf.oneHot(tf.tensor1d(targets, 'int32'), vocab), 'float32')
        return tf.mul(tf.sub(probs, onehot), dy)
      })
    return { value: value as tf.Scalar, gradFunc }
  })
  return op(logits) as tf.Scalar
}

/**
 * Summed next-token cross-entropy over the batch's trained positions (a scalar). Logits are
 * computed only for those rows, so prompt tokens cost no vocabulary matmul. A mixture of experts
 * in training adds `router_aux_loss_coef · aux · trained` (transformers' `loss += coef · aux_loss`
 * on the mean, here on the sum, so the step's loss is mean CE + coef · the label-weighted aux).
 */
export function lossSum(model: DecoderModel, adapter: AdapterState | undefined, batch: TrainBatch, opts: ForwardOptions & { gradientCheckpointing?: boolean } = {}): tf.Scalar {
  const moe = model.config.moe
  if (moe && moe.routerAuxLossCoef > 0 && opts.training) {
    // a checkpointed layer is one custom gradient: the router probabilities inside it get none from the aux loss
    if (opts.gradientCheckpointing) fail('MoeGradientCheckpointing', { path: 'model.gradientCheckpointing', value: true }, model.family)
    return tf.tidy(() => {
      const router: RouterRecord[] = []
      const ce = tokenLossSum(model, adapter, batch, { ...opts, router })
      if (router.length === 0) return ce // no trained token: no forward pass
      // the rows the layers saw (prompt tuning's virtual tokens first, in their row's segment); padding is segment -1
      const seen = adapter?.prompt ? withVirtualTokens(batch, adapter.prompt.shape[0]) : batch
      const real = Float32Array.from(seen.segments, (s) => (s >= 0 ? 1 : 0))
      return tf.add(ce, tf.mul(loadBalancingLoss(router, real, model.config), moe.routerAuxLossCoef * batch.trained)) as tf.Scalar
    })
  }
  return tokenLossSum(model, adapter, batch, opts)
}

function tokenLossSum(model: DecoderModel, adapter: AdapterState | undefined, batch: TrainBatch, opts: ForwardOptions & { gradientCheckpointing?: boolean }): tf.Scalar {
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
    const picked = gatherRows(hidden, Int32Array.from(rows)) // [trained, hidden]
    if (fusedHead(model, adapter)) return headCrossEntropySum(picked, adapter?.lmHead ?? model.head, Int32Array.from(targets))
    return crossEntropySum(headLogits(model, adapter, picked), Int32Array.from(targets)) // [trained, vocab] logits
  })
}

/** Whether the fused head loss covers the model's head: not Gemma 2's soft-capped logits, nor tied embeddings' trained token rows (headLogits' own paths). */
function fusedHead(model: DecoderModel, adapter: AdapterState | undefined): boolean {
  if (!kernelOptions().fusedHeadLoss || model.config.gemma2?.finalLogitSoftcapping) return false
  return !(adapter?.tokens && model.config.tieWordEmbeddings && !adapter.lmHead)
}
