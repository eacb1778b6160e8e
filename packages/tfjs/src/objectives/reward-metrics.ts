/** TRL's reward metrics of the preference trainers (DPO, ORPO, CPO/SimPO), as they name them. */
export const REWARD_METRICS = ['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected'] as const

/**
 * The reward metrics summed over a micro-batch's b pairs (the step event carries their means):
 * `rewards` and `logps` are [2b], chosen rows then rejected rows, read on the host. What a reward
 * is depends on the loss (β·log-ratio for DPO, λ or β times the averaged log-probability for ORPO
 * and SimPO); accuracy counts chosen reward > rejected, as TRL does.
 */
export function rewardMetrics(rewards: ArrayLike<number>, logps: ArrayLike<number>): Record<(typeof REWARD_METRICS)[number], number> {
  const b = rewards.length / 2
  const metrics = { 'rewards/chosen': 0, 'rewards/rejected': 0, 'rewards/accuracies': 0, 'rewards/margins': 0, 'logps/chosen': 0, 'logps/rejected': 0 }
  for (let i = 0; i < b; i++) {
    const chosen = rewards[i]!
    const rejected = rewards[b + i]!
    metrics['rewards/chosen'] += chosen
    metrics['rewards/rejected'] += rejected
    metrics['rewards/accuracies'] += chosen > rejected ? 1 : 0
    metrics['rewards/margins'] += chosen - rejected
    metrics['logps/chosen'] += logps[i]!
    metrics['logps/rejected'] += logps[b + i]!
  }
  return metrics
}
