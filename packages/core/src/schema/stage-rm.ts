import { z } from 'zod'

export const rmStageSchema = z.strictObject({
  /**
   * Reward modelling on preference pairs (TRL's `RewardTrainer`): a scalar head `score`
   * (Linear(hidden, 1, bias=False), read at each sequence's last non-padding token, as transformers'
   * `*ForSequenceClassification`) trained with −log σ(r_chosen − r_rejected); the artifact loads with
   * `AutoModelForSequenceClassification`. No reference model; the head adds hidden × 1 weights.
   * @defaultValue (required) `'rm'`
   * @see https://huggingface.co/docs/trl/reward_trainer
   */
  kind: z.literal('rm'),
  /**
   * Weight of the term that pulls rewards towards zero mean (TRL's `center_rewards_coefficient`):
   * the loss adds c · mean((r_chosen + r_rejected)²), Eisenstein et al. 2023, Eq. 2 (TRL recommends
   * 0.01). Absent: no such term. No memory effect; rewards of different runs become comparable.
   * @defaultValue undefined (TRL's None: no centering term)
   * @see https://huggingface.co/docs/trl/reward_trainer#trl.RewardConfig (center_rewards_coefficient)
   */
  centerRewardsCoefficient: z.number().min(0).optional(),
})

/** The options of `stage: { kind: 'rm' }`, resolved. */
export type RmStageOptions = z.output<typeof rmStageSchema>
