import type { SimpoStageOptions } from '@tunekit/core'
import { tf } from '../engine.ts'
import { lengthAveraged, type PairBatch, type PairLogps } from './pair-batch.ts'
import { REWARD_METRICS, rewardMetrics } from './reward-metrics.ts'

/** Per-pair values of CPOTrainer's logged metrics for SimPO; `nll_loss` only with `cpoAlpha` > 0 (TRL logs a placeholder 0 otherwise). */
export const SIMPO_METRICS = [...REWARD_METRICS, 'nll_loss'] as const

/**
 * SimPO (Meng et al. 2024, Eq. 6) as TRL 1.x's CPOTrainer computes it with `loss_type='simpo'`.
 * With the length-averaged log-probabilities a_w = log π(w|x) / |w| and a_l, z = β (a_w − a_l) − γ:
 *
 *   loss = −(1 − ε) log σ(z) − ε log σ(−z) + α · NLL(w)
 *
 * ε = labelSmoothing, α = cpoAlpha; NLL(w) is the token mean over the micro-batch's labelled
 * chosen-answer tokens (CPO's behaviour cloning term), carried by each pair so that the mean over
 * a micro-batch's pairs is TRL's loss. Returns the per-pair losses [b] and the per-pair metric sums.
 */
export function simpoLoss(o: SimpoStageOptions, logps: PairLogps, batch: PairBatch): { losses: tf.Tensor1D; metrics: Record<string, number> } {
  const b = batch.pairs
  const { beta, simpoGamma: gamma, cpoAlpha: alpha, labelSmoothing: eps } = o
  const averages = lengthAveraged(logps, batch) // [2b]
  const chosenTokens = batch.lengths.slice(0, b).reduce((n, l) => n + l, 0)
  const [losses, nll] = tf.tidy(() => {
    const [chosen, rejected] = tf.split(averages, 2) as [tf.Tensor1D, tf.Tensor1D]
    const z = tf.sub(tf.mul(tf.sub(chosen, rejected), beta), gamma)
    const logSigmoid = (x: tf.Tensor): tf.Tensor => tf.neg(tf.softplus(tf.neg(x))) // log σ(x) = −softplus(−x)
    const preference = tf.sub(tf.mul(logSigmoid(z), -(1 - eps)), tf.mul(logSigmoid(tf.neg(z)), eps))
    const nll = tf.div(tf.neg(tf.sum(tf.slice(logps.answer, 0, b))), Math.max(chosenTokens, 1))
    return [alpha > 0 ? tf.add(preference, tf.mul(nll, alpha)) : preference, nll] as [tf.Tensor1D, tf.Scalar]
  })
  const values = averages.dataSync()
  const nllValue = nll.dataSync()[0]!
  tf.dispose([averages, nll])
  // rewards β·a, from the length-averaged log-probabilities (TRL's chosen_rewards)
  const metrics: Record<string, number> = { ...rewardMetrics(Array.from(values, (v) => beta * v), values), ...(alpha > 0 ? { nll_loss: b * nllValue } : {}) }
  return { losses, metrics }
}
