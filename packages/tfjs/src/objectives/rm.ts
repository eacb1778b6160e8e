import type { RmStageOptions } from '@tunekit/core'
import { tf } from '../engine.ts'

/** Per-pair values of RewardTrainer's logged metrics (TRL 1.16; means over a step are what the step event carries). */
export const RM_METRICS = ['accuracy', 'margin', 'min_reward', 'mean_reward', 'max_reward'] as const

/**
 * The reward model's pairwise loss, as TRL 1.16's RewardTrainer computes it (Bradley–Terry; Ouyang
 * et al. 2022, Eq. 1), with the optional centering term (Eisenstein et al. 2023, Eq. 2):
 *
 *   loss = −log σ(r_w − r_l) + c · (r_w + r_l)²        (per pair; TRL takes the mean over pairs)
 *
 * `rewards` is [2b] (chosen rows then rejected rows). Returns the per-pair losses [b] and, read on
 * the host, the metrics' sums over the micro-batch's pairs: accuracy and margin per pair; TRL logs
 * min/mean/max over the micro-batch's 2b rewards, entered here as b × the value, so the step's
 * mean over pairs is TRL's mean over its (equal-sized) micro-batches.
 */
export function rmLoss(o: RmStageOptions, rewards: tf.Tensor1D): { losses: tf.Tensor1D; metrics: Record<(typeof RM_METRICS)[number], number> } {
  const b = rewards.shape[0] / 2
  const losses = tf.tidy(() => {
    const [chosen, rejected] = tf.split(rewards, 2) as [tf.Tensor1D, tf.Tensor1D]
    const pairwise = tf.softplus(tf.sub(rejected, chosen)) // −log σ(r_w − r_l) = softplus(r_l − r_w)
    const c = o.centerRewardsCoefficient
    return (c === undefined ? pairwise : tf.add(pairwise, tf.mul(tf.square(tf.add(chosen, rejected)), c))) as tf.Tensor1D
  })
  const values = [...(rewards.dataSync() as Float32Array)]
  const metrics = { accuracy: 0, margin: 0, min_reward: b * Math.min(...values), mean_reward: values.reduce((s, v) => s + v, 0) / 2, max_reward: b * Math.max(...values) }
  for (let i = 0; i < b; i++) {
    metrics.accuracy += values[i]! > values[b + i]! ? 1 : 0
    metrics.margin += values[i]! - values[b + i]!
  }
  return { losses, metrics }
}
