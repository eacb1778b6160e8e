import type { DpoStageOptions } from '@tunekit/core'
import { tf } from '../engine.ts'
import { REWARD_METRICS, rewardMetrics } from './reward-metrics.ts'


/**
 * The DPO family's losses, as TRL 1.x's DPOTrainer computes them (reverse KL). With log-ratios
 * ρ_w = log π(w) − log π_ref(w) of the chosen answer, ρ_l of the rejected one, Δ = ρ_w − ρ_l:
 *
 *   sigmoid  −log σ(β Δ)                                   (DPO, Eq. 7)
 *   hinge    max(0, 1 − β Δ)                                (SLiC)
 *   ipo      (ρ_w / |w| − ρ_l / |l| − 1 / (2β))²             (IPO, Eq. 17, length-averaged as TRL)
 *   robust   (−(1−ε) log σ(β Δ) + ε log σ(−β Δ)) / (1 − 2ε)  (Robust DPO, ε = labelSmoothing)
 *
 * `logps` and `refLogps` are [2b] (chosen rows then rejected rows), `lengths` the labelled tokens
 * per row. Returns the per-pair losses [b] and, read on the host, the per-pair metric sums.
 */
export function dpoLoss(o: DpoStageOptions, logps: tf.Tensor1D, refLogps: Float32Array, lengths: readonly number[]): { losses: tf.Tensor1D; metrics: Record<(typeof REWARD_METRICS)[number], number> } {
  const b = logps.shape[0] / 2
  const { beta, labelSmoothing: eps } = o
  const losses = tf.tidy(() => {
    const ratios = tf.sub(logps, tf.tensor1d(refLogps))
    const [chosen, rejected] = tf.split(ratios, 2) as [tf.Tensor1D, tf.Tensor1D]
    const scaled = tf.mul(tf.sub(chosen, rejected), beta) // β Δ
    const logSigmoid = (x: tf.Tensor): tf.Tensor => tf.neg(tf.softplus(tf.neg(x))) // log σ(x) = −softplus(−x)
    if (o.lossType === 'sigmoid') return tf.neg(logSigmoid(scaled))
    if (o.lossType === 'hinge') return tf.relu(tf.sub(1, scaled))
    if (o.lossType === 'robust') return tf.div(tf.add(tf.mul(logSigmoid(scaled), -(1 - eps)), tf.mul(logSigmoid(tf.neg(scaled)), eps)), 1 - 2 * eps)
    const per = (x: tf.Tensor, from: number): tf.Tensor => tf.div(x, tf.tensor1d(lengths.slice(from, from + b).map((n) => Math.max(n, 1))))
    return tf.square(tf.sub(tf.sub(per(chosen, 0), per(rejected, b)), 1 / (2 * beta)))
  }) as tf.Tensor1D
  // rewards β ρ from the summed log-ratios, for every loss type (as TRL logs them)
  const values = logps.dataSync()
  const metrics = rewardMetrics(Array.from(values, (v, i) => beta * (v - refLogps[i]!)), values)
  return { losses, metrics }
}
