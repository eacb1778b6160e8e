import { z } from 'zod'

/**
 * What a reward function sees of the record a prompt came from: its id (the format step's), the
 * prompt's messages (every turn before the last assistant turn) and, when the record has one, that
 * last assistant turn's text (the reference answer an exact-match reward compares with).
 */
export interface GrpoExample {
  readonly id: string
  readonly messages: readonly { readonly role: string; readonly content: string }[]
  readonly answer?: string
}

/**
 * A reward: the score of one sampled completion (its decoded text, special tokens dropped, as TRL
 * passes `completions`) of the prompt of `example`; higher is better. Sync or async. Its source text
 * (`fn.toString()`) is part of the train node's key: editing it re-trains, the same text is a cache
 * hit (a value it closes over is not in the key: write constants inside the function).
 */
export type RewardFunction = (completion: string, example: GrpoExample) => number | Promise<number>

const isFunction = (v: unknown): v is RewardFunction => typeof v === 'function'

/**
 * A reward is a function: zod checks only that it is one (a JSON recipe cannot hold code, so its
 * JSON Schema accepts anything there and parseRecipe's check fails with the path of the value).
 */
export const rewardFunctionSchema = z.custom<RewardFunction>(isFunction, 'expected a reward function (completion, example) => number')

export const grpoStageSchema = z.strictObject({
  /**
   * Group Relative Policy Optimization (TRL's `GRPOTrainer`): for each prompt the policy samples
   * `numGenerations` completions, the reward functions score them, and each completion's advantage
   * is its reward against its group's mean (and std). Memory: the policy, plus a reference pass when
   * `beta` > 0 (with LoRA the base with the adapter off: no second copy).
   * @defaultValue (required) `'grpo'`
   * @see https://huggingface.co/docs/trl/grpo_trainer
   */
  kind: z.literal('grpo'),
  /**
   * The reward functions, `(completion, example) => number | Promise<number>`, written in the recipe
   * (TRL's `reward_funcs`); a completion's reward is their weighted sum (`rewardWeights`). Their source
   * text is in the train node's key. No memory effect; a reward decides what the policy learns.
   * @defaultValue (required)
   * @see https://huggingface.co/docs/trl/grpo_trainer#using-a-custom-reward-function (reward_funcs)
   */
  rewards: z.array(rewardFunctionSchema).min(1),
  /**
   * Completions sampled per prompt, the group whose rewards normalise each other (TRL's
   * `num_generations`); `args.batchSize × args.gradientAccumulationSteps` completions make a step,
   * so it must divide that. More gives a better baseline and costs generation time.
   * @defaultValue 8
   * @see https://huggingface.co/docs/trl/grpo_trainer#trl.GRPOConfig (num_generations)
   */
  numGenerations: z.number().int().min(2).default(8),
  /**
   * KL coefficient to the reference model (TRL's `beta`), with the k3 estimator
   * exp(ref − logp) − (ref − logp) − 1 per token. 0 skips the reference pass (less compute); larger
   * keeps the policy closer to where it started.
   * @defaultValue 0 (TRL's default: no reference)
   * @see https://huggingface.co/docs/trl/grpo_trainer#trl.GRPOConfig (beta)
   */
  beta: z.number().min(0).default(0),
  /**
   * Clipping range of the probability ratio (TRL's `epsilon`, PPO's ε): the ratio to the sampling
   * policy is clipped to [1 − ε, 1 + ε]. Smaller moves the policy less per step. No memory effect.
   * @defaultValue 0.2
   * @see https://huggingface.co/docs/trl/grpo_trainer#trl.GRPOConfig (epsilon)
   */
  epsilon: z.number().positive().default(0.2),
  /**
   * Sampling temperature of the completions (TRL's `temperature`); the log-probabilities of the
   * loss are of logits / temperature, as TRL computes them. Higher explores more. No memory effect.
   * @defaultValue 1
   * @see https://huggingface.co/docs/trl/grpo_trainer#trl.GRPOConfig (temperature)
   */
  temperature: z.number().positive().default(1),
  /**
   * Most tokens a sampled completion may have (TRL's `max_completion_length`), eos included.
   * Activation memory and generation time grow with it.
   * @defaultValue 512
   * @see https://huggingface.co/docs/trl/grpo_trainer#trl.GRPOConfig (max_completion_length)
   */
  maxCompletionLength: z.number().int().min(1).default(512),
  /**
   * Weight of each reward function in a completion's reward (TRL's `reward_weights`), one per
   * entry of `rewards`. No memory effect.
   * @defaultValue undefined (every weight 1)
   * @see https://huggingface.co/docs/trl/grpo_trainer#trl.GRPOConfig (reward_weights)
   */
  rewardWeights: z.array(z.number()).optional(),
  /**
   * How rewards become advantages (TRL's `scale_rewards`): `'group'` divides by each group's std,
   * `'batch'` by the step's std, `'none'` only subtracts the group mean (Dr. GRPO). No memory effect.
   * @defaultValue 'group'
   * @see https://huggingface.co/docs/trl/grpo_trainer#trl.GRPOConfig (scale_rewards)
   */
  scaleRewards: z.enum(['group', 'batch', 'none']).default('group'),
  /**
   * How per-token losses are summed into the step's loss (TRL's `loss_type`): `'dapo'` over every
   * completion token of the step, `'grpo'` each completion's mean then the mean over completions,
   * `'bnpo'` over the micro-batch's tokens, `'dr_grpo'` over completions × `maxCompletionLength`.
   * No memory effect; `'grpo'` favours short right answers and long wrong ones (length bias).
   * @defaultValue 'dapo'
   * @see https://huggingface.co/docs/trl/grpo_trainer#loss-types (loss_type)
   */
  lossType: z.enum(['dapo', 'grpo', 'bnpo', 'dr_grpo']).default('dapo'),
})

/** The options of `stage: { kind: 'grpo' }`, resolved. */
export type GrpoStageOptions = z.output<typeof grpoStageSchema>
