import { z } from 'zod'

export const simpoStageSchema = z.strictObject({
  /**
   * Simple Preference Optimization on preference pairs, as TRL runs it (`CPOTrainer` with
   * `loss_type='simpo'`): the length-averaged log-probabilities of chosen and rejected, a target
   * margin γ, no reference model (so no `ref-logprobs` node), optionally CPO's NLL on the chosen answer.
   * @defaultValue (required) `'simpo'`
   * @see https://huggingface.co/docs/trl/cpo_trainer#simpo
   */
  kind: z.literal('simpo'),
  /**
   * β, the scale of the reward margin inside the sigmoid (TRL's `beta`): the loss is
   * −log σ(β·(avg log π(w) − avg log π(l)) − γ). The SimPO paper uses 2.0 to 10 with its
   * learning rates; TRL's CPOConfig defaults to 0.1. No memory effect.
   * @defaultValue 0.1
   * @see https://huggingface.co/docs/trl/cpo_trainer#trl.experimental.cpo.CPOConfig (beta)
   */
  beta: z.number().positive().default(0.1),
  /**
   * γ, SimPO's target reward margin (TRL's `simpo_gamma`): the chosen answer's β-scaled average
   * log-probability must beat the rejected one's by this much before the loss flattens. Higher
   * separates harder; no memory effect.
   * @defaultValue 0.5
   * @see https://huggingface.co/docs/trl/cpo_trainer#trl.experimental.cpo.CPOConfig (simpo_gamma)
   */
  simpoGamma: z.number().min(0).default(0.5),
  /**
   * Weight of the NLL (behaviour-cloning) term on the chosen answer (TRL's `cpo_alpha`). 0 is
   * SimPO as its paper and TRL's SimPO docs run it; CPOConfig's own default, 1.0, is CPO-SimPO
   * (more stable, closer to SFT on the chosen answers). No memory effect.
   * @defaultValue 0 (SimPO; TRL's CPOConfig defaults to 1.0, CPO-SimPO)
   * @see https://huggingface.co/docs/trl/cpo_trainer#simpo (cpo_alpha)
   */
  cpoAlpha: z.number().min(0).default(0),
  /**
   * Conservative-loss ε (TRL's `label_smoothing`): the probability that a pair's preference is
   * flipped, in [0, 0.5); the loss becomes −(1−ε) log σ(z) − ε log σ(−z). No memory effect.
   * @defaultValue 0
   * @see https://huggingface.co/docs/trl/cpo_trainer#trl.experimental.cpo.CPOConfig (label_smoothing)
   */
  labelSmoothing: z.number().min(0).lt(0.5).default(0),
})

/** The options of `stage: { kind: 'simpo' }`, resolved. */
export type SimpoStageOptions = z.output<typeof simpoStageSchema>
