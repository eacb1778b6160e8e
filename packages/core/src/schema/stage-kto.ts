import { z } from 'zod'

/** `stage: { kind: 'kto' }`: its options named as TRL's KTOConfig names them (camelCase). */
export const ktoStageSchema = z.strictObject({
  /**
   * Kahneman-Tversky Optimization on unpaired examples, each a prompt, one completion and a
   * desirable / undesirable label (TRL's `KTOTrainer`; preference pairs are unpaired as TRL does).
   * The reference's log-probabilities come from the `ref-logprobs` node, once, so no second model
   * sits in memory beside the policy.
   * @defaultValue (required) `'kto'`
   * @see https://huggingface.co/docs/trl/kto_trainer
   */
  kind: z.literal('kto'),
  /**
   * β, how far the policy may move from the reference (TRL's `beta`): higher keeps it closer. No
   * memory effect.
   * @defaultValue 0.1
   * @see https://huggingface.co/docs/trl/kto_trainer#trl.KTOConfig (beta)
   */
  beta: z.number().positive().default(0.1),
  /**
   * Weight of the desirable examples' losses (TRL's `desirable_weight`), to balance unequal numbers
   * of desirable and undesirable examples: KTO's paper keeps desirable × weight / undesirable ×
   * weight in [1, 4/3]. No memory effect.
   * @defaultValue 1
   * @see https://huggingface.co/docs/trl/kto_trainer#trl.KTOConfig (desirable_weight)
   */
  desirableWeight: z.number().positive().default(1),
  /**
   * Weight of the undesirable examples' losses (TRL's `undesirable_weight`); see `desirableWeight`.
   * No memory effect.
   * @defaultValue 1
   * @see https://huggingface.co/docs/trl/kto_trainer#trl.KTOConfig (undesirable_weight)
   */
  undesirableWeight: z.number().positive().default(1),
  /**
   * The loss (TRL's `loss_type`): `'kto'` (the KTO paper's Eq. 7, against a KL estimate from each
   * batch's mismatched prompt/completion pairs: one more forward pass per batch) or
   * `'apo_zero_unpaired'` (APO-zero's unpaired loss, no KL term). Quality: APO-zero suits
   * completions better than the model's own; KTO needs `args.batchSize` > 1 and unshuffled batches.
   * @defaultValue 'kto'
   * @see https://huggingface.co/docs/trl/kto_trainer#trl.KTOConfig (loss_type)
   */
  lossType: z.enum(['kto', 'apo_zero_unpaired']).default('kto'),
})

/** The options of `stage: { kind: 'kto' }`, resolved. */
export type KtoStageOptions = z.output<typeof ktoStageSchema>
