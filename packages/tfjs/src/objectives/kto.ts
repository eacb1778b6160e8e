import type { KtoStageOptions } from '@tunekit/core'
import { tf } from '../engine.ts'

/** The step metrics KTOTrainer logs (rewards and log-probabilities over a step's desirable or undesirable examples). */
export const KTO_METRICS = ['kl', 'rewards/chosen', 'rewards/rejected', 'rewards/margins', 'logps/chosen', 'logps/rejected'] as const

/**
 * KTO's KL estimate z₀ (TRL 1.16's KTOTrainer): the mean over a micro-batch of the policy's minus
 * the reference's log-probability of each KL completion, clamped at 0. The policy's values are read
 * without gradient, so z₀ is a constant of the loss.
 */
export function klEstimate(policy: ArrayLike<number>, reference: ArrayLike<number>): number {
  let sum = 0
  for (let i = 0; i < policy.length; i++) sum += policy[i]! - reference[i]!
  return Math.max(0, sum / Math.max(1, policy.length))
}

/**
 * The KTO family's per-example losses, as TRL 1.16's KTOTrainer computes them. With the log-ratio
 * ρ = log π(y|x) − log π_ref(y|x) of an example's completion and z₀ the batch's KL estimate:
 *
 *   kto                desirable  w_D (1 − σ(β (ρ − z₀)))     undesirable  w_U (1 − σ(β (z₀ − ρ)))   (KTO, Eq. 7)
 *   apo_zero_unpaired  desirable  w_D (1 − σ(β ρ))            undesirable  w_U σ(β ρ)                 (APO-zero, unpaired)
 *
 * i.e. w (1 − σ(s β (ρ − z₀))) with s = +1 for desirable and −1 for undesirable examples (z₀ = 0 for
 * APO-zero). `logps` [b] are the policy's, `refLogps` the reference's. Returns the per-example
 * losses [b] and, read on the host, the metrics' sums with their counts (`ktoStepMetrics`).
 */
export function ktoLoss(o: KtoStageOptions, logps: tf.Tensor1D, refLogps: Float32Array, desirable: readonly boolean[], kl: number): { losses: tf.Tensor1D; metrics: Record<string, number> } {
  const z0 = o.lossType === 'kto' ? kl : 0
  const losses = tf.tidy(() => {
    const ratios = tf.sub(logps, tf.tensor1d(refLogps))
    const sign = tf.tensor1d(desirable.map((d) => (d ? 1 : -1)))
    const weight = tf.tensor1d(desirable.map((d) => (d ? o.desirableWeight : o.undesirableWeight)))
    return tf.mul(weight, tf.sub(1, tf.sigmoid(tf.mul(sign, tf.mul(tf.sub(ratios, z0), o.beta)))))
  }) as tf.Tensor1D
  const values = logps.dataSync()
  const metrics = { kl, batches: 1, chosen: 0, rejected: 0, 'rewards/chosen': 0, 'rewards/rejected': 0, 'logps/chosen': 0, 'logps/rejected': 0 }
  desirable.forEach((d, i) => {
    const side = d ? 'chosen' : 'rejected'
    metrics[side]++
    metrics[`rewards/${side}`] += o.beta * (values[i]! - refLogps[i]!) // β ρ, as TRL's rewards
    metrics[`logps/${side}`] += values[i]!
  })
  return { losses, metrics }
}

/**
 * A step's metrics from its micro-batches' sums, as KTOTrainer logs one batch: kl the mean of the
 * micro-batches' z₀; rewards/logps of each side the mean over that side's examples, absent when the
 * step has none (TRL logs nothing then); rewards/margins when both sides are present.
 */
export function ktoStepMetrics(sums: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = { kl: sums.kl! / sums.batches! }
  for (const side of ['chosen', 'rejected'] as const) {
    const n = sums[side]!
    if (n > 0) {
      out[`rewards/${side}`] = sums[`rewards/${side}`]! / n
      out[`logps/${side}`] = sums[`logps/${side}`]! / n
    }
  }
  if (sums.chosen! > 0 && sums.rejected! > 0) out['rewards/margins'] = out['rewards/chosen']! - out['rewards/rejected']!
  return out
}
