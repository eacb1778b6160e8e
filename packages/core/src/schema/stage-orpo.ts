import { z } from 'zod'

export const orpoStageSchema = z.strictObject({
  /**
   * Odds Ratio Preference Optimization on preference pairs (TRL's `ORPOTrainer`): the chosen
   * sequence's NLL plus λ times the log-sigmoid penalty on the log-odds ratio of chosen over
   * rejected. No reference model, so no `ref-logprobs` node and no second forward pass.
   * @defaultValue (required) `'orpo'`
   * @see https://huggingface.co/docs/trl/orpo_trainer
   */
  kind: z.literal('orpo'),
  /**
   * λ, the weight of the odds-ratio term against the NLL (TRL's `beta`, the paper's λ): higher
   * pushes chosen and rejected apart harder, lower is closer to plain SFT on the chosen answers.
   * Rewards are logged as β times the length-averaged log-probabilities. No memory effect.
   * @defaultValue 0.1
   * @see https://huggingface.co/docs/trl/orpo_trainer#trl.experimental.orpo.ORPOConfig (beta)
   */
  beta: z.number().positive().default(0.1),
})

/** The options of `stage: { kind: 'orpo' }`, resolved. */
export type OrpoStageOptions = z.output<typeof orpoStageSchema>
