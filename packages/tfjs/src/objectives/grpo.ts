import type { TrainParams } from '@tunekit/core'
import { tf } from '../engine.ts'
import type { AdapterState } from '../methods/state.ts'
import type { DecoderModel } from '../model/types.ts'
import type { StepObjective } from '../train/loop.ts'
import type { TrainBatch } from '../train/batch.ts'
import { pickedLogps } from './pair-batch.ts'

export type GrpoOptions = Extract<NonNullable<TrainParams['objective']>, { kind: 'grpo' }>

/**
 * A micro-batch of completions (rows prompt ++ completion, right-padded; the completion's tokens,
 * eos included, are the labelled targets), each with its advantage.
 */
export interface GrpoBatch extends TrainBatch {
  /** Completions in the micro-batch. */
  completions: number
  /** Advantage of each row [completions]. */
  advantages: readonly number[]
  /** Labelled (completion) tokens of each row. */
  lengths: readonly number[]
  /** The reference's log p of each labelled token, in target order (beta > 0 only). */
  ref?: Float32Array
  /** The step's reward and completion metrics, on its first micro-batch only. */
  metrics?: Record<string, number>
}

/** The labelled positions of a batch in order (flat indices into [rows * seq]), their targets and rows. */
export function labelledPositions(batch: TrainBatch): { positions: number[]; targets: number[]; rows: number[] } {
  const positions: number[] = []
  const targets: number[] = []
  const rows: number[] = []
  for (let i = 0; i < batch.targets.length; i++) {
    if (batch.targets[i]! < 0) continue
    positions.push(i)
    targets.push(batch.targets[i]!)
    rows.push(Math.floor(i / batch.seq))
  }
  return { positions, targets, rows }
}

/**
 * Each token's weight in the step's loss for TRL's `loss_type`, with `units` the divisor trainLoop
 * applies (the micro-batch's share): dapo Σ over the step's tokens (units = tokens); bnpo the
 * micro-batch's token mean, grpo each completion's token mean then the mean over completions,
 * dr_grpo Σ / (completions × maxCompletionLength), each then averaged over micro-batches (units = 1).
 */
function tokenWeights(o: GrpoOptions, batch: GrpoBatch, rows: readonly number[]): Float32Array {
  const tokens = rows.length
  return Float32Array.from(rows, (r) => {
    switch (o.lossType) {
      case 'dapo': return 1
      case 'bnpo': return 1 / Math.max(1, tokens)
      case 'grpo': return 1 / (Math.max(1, batch.lengths[r]!) * batch.completions)
      case 'dr_grpo': return 1 / (batch.completions * o.maxCompletionLength)
    }
  })
}

/**
 * GRPO's per-token loss (TRL 1.16's `_compute_loss`, importance_sampling_level 'token'):
 *   r_t = exp(log π(o_t) − log π_old(o_t)),  ℓ_t = −min(r_t·A, clip(r_t, 1−ε, 1+ε)·A) + β·KL_t·r_t,
 *   KL_t = exp(ref_t − log π_t) − (ref_t − log π_t) − 1  (the k3 estimator),
 * π_old the policy that sampled (one update per generation: its log p is this pass's, held constant,
 * so r = 1 and the gradient is (−A + β·KL)·∇log π + β·∇KL: the KL times r is TRL's default
 * use_bias_correction_kl), log p of logits / temperature. Returns Σ_t w_t·ℓ_t and
 * the sums behind TRL's `kl` and `clip_ratio/region_mean`.
 */
export function grpoLoss(o: GrpoOptions, logps: tf.Tensor1D, batch: GrpoBatch, rows: readonly number[]): { loss: tf.Scalar; klSum: number; clipped: number } {
  const old = tf.tensor1d(logps.dataSync() as Float32Array) // π_old: this pass's values, no gradient
  const advantages = tf.tensor1d(Float32Array.from(rows, (r) => batch.advantages[r]!))
  const ratio = tf.exp(tf.sub(logps, old))
  const clippedRatio = tf.clipByValue(ratio, 1 - o.epsilon, 1 + o.epsilon)
  let perToken: tf.Tensor = tf.neg(tf.minimum(tf.mul(ratio, advantages), tf.mul(clippedRatio, advantages)))
  let klSum = 0
  if (o.beta !== 0) {
    const delta = tf.sub(tf.tensor1d(batch.ref!), logps) // ref − log π
    const kl = tf.sub(tf.sub(tf.exp(delta), delta), 1)
    klSum = tf.sum(kl).dataSync()[0]!
    // TRL's use_bias_correction_kl (its default): KL · ratio, the same value, one more gradient term KL · ∇log π
    perToken = tf.add(perToken, tf.mul(tf.mul(kl, ratio), o.beta))
  }
  // clipped tokens: the ratio left [1 − ε, 1 + ε] on the side the advantage pushes it (TRL's is_region_clipped)
  const r = ratio.dataSync()
  const clipped = rows.reduce((n, row, j) => n + ((r[j]! < 1 - o.epsilon && batch.advantages[row]! < 0) || (r[j]! > 1 + o.epsilon && batch.advantages[row]! > 0) ? 1 : 0), 0)
  const loss = tf.sum(tf.mul(perToken, tf.tensor1d(tokenWeights(o, batch, rows)))) as tf.Scalar
  return { loss, klSum, clipped }
}

/** The GRPO objective over completion micro-batches: grpoLoss, TRL's per-step metrics. */
export function grpoObjective(model: DecoderModel, adapter: AdapterState, o: GrpoOptions): StepObjective<GrpoBatch> {
  return {
    lossSum: (batch, opts) => {
      const { positions, targets, rows } = labelledPositions(batch)
      const logps = pickedLogps(model, adapter, batch, positions, targets, opts, o.temperature)
      const { loss, klSum, clipped } = grpoLoss(o, logps, batch, rows)
      return { loss, metrics: { ...batch.metrics, _kl: klSum, _clipped: clipped, _tokens: rows.length } }
    },
    units: (batch) => (o.lossType === 'dapo' ? batch.lengths.reduce((a, b) => a + b, 0) : 1),
    tokens: (batch) => batch.segments.reduce((n, seg) => n + (seg >= 0 ? 1 : 0), 0),
    stepMetrics: (sums) => {
      const { _kl: kl = 0, _clipped: clipped = 0, _tokens: tokens = 0, ...rest } = sums
      return { ...rest, ...(o.beta !== 0 ? { kl: kl / Math.max(1, tokens) } : {}), 'clip_ratio/region_mean': clipped / Math.max(1, tokens) }
    },
  }
}
