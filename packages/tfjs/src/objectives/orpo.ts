import type { OrpoStageOptions } from '@tunekit/core'
import { tf } from '../engine.ts'
import { lengthAveraged, type PairBatch, type PairLogps } from './pair-batch.ts'
import { REWARD_METRICS, rewardMetrics } from './reward-metrics.ts'

/** Per-pair values of ORPOTrainer's logged metrics (means over a step are what the step event carries). */
export const ORPO_METRICS = [...REWARD_METRICS, 'nll_loss', 'log_odds_ratio', 'log_odds_chosen'] as const

/**
 * log(1 − eˣ) for x < 0, branching at −ln 2 as TRL's log1mexp does (no cancellation on either
 * side). The branch is picked on the host: tfjs has no gradient for the comparison op.
 */
function log1mexp(x: tf.Tensor1D): tf.Tensor {
  const below = tf.tensor1d(Array.from(x.dataSync(), (v) => (v < -Math.LN2 ? 1 : 0)), 'bool')
  return tf.where(below, tf.log1p(tf.neg(tf.exp(x))), tf.log(tf.neg(tf.expm1(x))))
}

/**
 * ORPO (Hong et al. 2024, Eq. 4–7) as TRL 1.x's ORPOTrainer computes it. With the length-averaged
 * log-probabilities a_w = log π(w|x) / |w| and a_l of the chosen and rejected answers:
 *
 *   log odds  = (a_w − a_l) − (log(1 − e^{a_w}) − log(1 − e^{a_l}))
 *   loss      = NLL(x ++ w) − λ · log σ(log odds)
 *
 * NLL is the token mean over every predicted token of the micro-batch's chosen sequences, prompt
 * included (TRL 1.16's "full prompt and response"); each pair carries it, so the mean over a
 * micro-batch's pairs is TRL's loss. Returns the per-pair losses [b] and the per-pair metric sums.
 */
export function orpoLoss(o: OrpoStageOptions, logps: PairLogps, batch: PairBatch): { losses: tf.Tensor1D; metrics: Record<(typeof ORPO_METRICS)[number], number> } {
  const b = batch.pairs
  const lambda = o.beta
  const averages = lengthAveraged(logps, batch) // [2b]
  const [losses, logOdds, ratio, nll] = tf.tidy(() => {
    const [chosen, rejected] = tf.split(averages, 2) as [tf.Tensor1D, tf.Tensor1D]
    const logOdds = tf.sub(tf.sub(chosen, rejected), tf.sub(log1mexp(chosen), log1mexp(rejected)))
    const ratio = tf.neg(tf.softplus(tf.neg(logOdds))) // log σ(x) = −softplus(−x)
    const nll = tf.div(tf.neg(tf.sum(logps.wholeChosen!)), batch.chosenTokens)
    return [tf.sub(nll, tf.mul(ratio, lambda)), logOdds, ratio, nll] as [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D, tf.Scalar]
  })
  const values = averages.dataSync()
  const [odds, ratios, nllValue] = [logOdds.dataSync(), ratio.dataSync(), nll.dataSync()[0]!]
  tf.dispose([averages, logOdds, ratio, nll])
  // rewards λ·a, from the length-averaged log-probabilities (TRL's chosen_rewards)
  const sum = (v: ArrayLike<number>): number => Array.from(v).reduce((n, x) => n + x, 0)
  const metrics = { ...rewardMetrics(Array.from(values, (v) => lambda * v), values), nll_loss: b * nllValue, log_odds_ratio: sum(ratios), log_odds_chosen: sum(odds) }
  return { losses, metrics }
}
