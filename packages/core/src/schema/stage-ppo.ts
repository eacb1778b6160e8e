import { z } from 'zod'
import type { ChainedRecipe } from './init.ts'

const isRewardModel = (v: unknown): v is ChainedRecipe | string =>
  (typeof v === 'string' && v.length > 0) || (v !== null && typeof v === 'object' && !Array.isArray(v) && typeof (v as { name?: unknown }).name === 'string')

export const ppoStageSchema = z.strictObject({
  /**
   * Proximal Policy Optimization against a reward model (TRL's `PPOTrainer`, LLaMA-Factory's
   * sft → rm → ppo): the policy samples a completion of each prompt, the reward model scores it, the
   * per-token rewards are −klCoef·KL to the reference plus the score at the end, a value head on the
   * policy's last hidden state gives GAE advantages, and ppo epochs over mini-batches step on the
   * clipped policy and value losses. Memory: the policy and its value head, the reward model (see
   * `rewardModel`), and a reference pass (the policy's adapter off: no second copy).
   * @defaultValue (required) `'ppo'`
   * @see https://huggingface.co/docs/trl/v0.29.1/en/ppo_trainer
   */
  kind: z.literal('ppo'),
  /**
   * The reward model: an rm-stage recipe (defineRecipe's result; its graph joins this one, so a run
   * of it before shares the cache) or the folder of an rm train artifact (adapter + `score` head)
   * over this recipe's base model (LLaMA-Factory's `reward_model_type: lora`). Memory: on tfjs its
   * adapter sits on the policy's base model (no second copy); the torch worker loads it as a second
   * model (base + adapter, as its rewards request does). The score is read at a completion's last token.
   * @defaultValue (required)
   * @see https://huggingface.co/docs/trl/v0.29.1/en/ppo_trainer (reward_model)
   */
  rewardModel: z.custom<ChainedRecipe | string>(isRewardModel, 'expected an rm recipe (what defineRecipe returns) or the folder of an rm train artifact'),
  /**
   * Passes over each rollout batch (TRL's `num_ppo_epochs`), each in `numMiniBatches` optimizer
   * steps. More reuses each sample more (fewer generations per step) and moves the policy further
   * from the one that sampled. No memory effect.
   * @defaultValue 4
   * @see https://huggingface.co/docs/trl/v0.29.1/en/ppo_trainer#trl.PPOConfig (num_ppo_epochs)
   */
  numPpoEpochs: z.number().int().min(1).default(4),
  /**
   * Mini-batches a rollout batch splits into per ppo epoch (TRL's `num_mini_batches`): a rollout is
   * `args.batchSize × args.gradientAccumulationSteps × numMiniBatches` prompts, one completion each,
   * and each mini-batch is one optimizer step. Generation memory grows with it; training memory does not.
   * @defaultValue 1
   * @see https://huggingface.co/docs/trl/v0.29.1/en/ppo_trainer#trl.PPOConfig (num_mini_batches)
   */
  numMiniBatches: z.number().int().min(1).default(1),
  /**
   * Clipping range of the probability ratio to the sampling policy (TRL's `cliprange`, PPO's ε):
   * the policy loss is max(−A·r, −A·clip(r, 1 − ε, 1 + ε)). Smaller moves the policy less per step.
   * @defaultValue 0.2
   * @see https://huggingface.co/docs/trl/v0.29.1/en/ppo_trainer#trl.PPOConfig (cliprange)
   */
  cliprange: z.number().positive().default(0.2),
  /**
   * Clipping range of the value prediction around the rollout's value (TRL's `cliprange_value`):
   * the value loss is ½·max((v − R)², (clip(v, v_old ± c) − R)²). Smaller moves the value head less.
   * @defaultValue 0.2
   * @see https://huggingface.co/docs/trl/v0.29.1/en/ppo_trainer#trl.PPOConfig (cliprange_value)
   */
  cliprangeValue: z.number().positive().default(0.2),
  /**
   * Weight of the value loss in the step's loss (TRL's `vf_coef`): loss = policy loss + vfCoef ·
   * value loss. The value head and the shared adapter learn values faster with more. No memory effect.
   * @defaultValue 0.1
   * @see https://huggingface.co/docs/trl/v0.29.1/en/ppo_trainer#trl.PPOConfig (vf_coef)
   */
  vfCoef: z.number().min(0).default(0.1),
  /**
   * Discount factor of GAE (TRL's `gamma`): 1 credits the end-of-completion score to every token
   * equally. No memory effect.
   * @defaultValue 1
   * @see https://huggingface.co/docs/trl/v0.29.1/en/ppo_trainer#trl.PPOConfig (gamma)
   */
  gamma: z.number().min(0).max(1).default(1),
  /**
   * GAE's λ (TRL's `lam`): the bias–variance trade-off of the advantages, 1 the Monte-Carlo return,
   * 0 the one-step TD error. No memory effect.
   * @defaultValue 0.95
   * @see https://huggingface.co/docs/trl/v0.29.1/en/ppo_trainer#trl.PPOConfig (lam)
   */
  lam: z.number().min(0).max(1).default(0.95),
  /**
   * KL coefficient of the per-token reward −klCoef · KL(policy ‖ reference) (TRL's `kl_coef`).
   * Larger keeps the policy closer to the reference (the start: the SFT model). No memory effect.
   * @defaultValue 0.05
   * @see https://huggingface.co/docs/trl/v0.29.1/en/ppo_trainer#trl.PPOConfig (kl_coef)
   */
  klCoef: z.number().min(0).default(0.05),
  /**
   * The per-token KL estimator (TRL's `kl_estimator`): `'k1'` log π − log π_ref (unbiased, can be
   * negative), `'k3'` (r − 1) − log r with r = π_ref / π (unbiased, never negative). No memory effect.
   * @defaultValue 'k1'
   * @see http://joschu.net/blog/kl-approx.html (TRL's kl_estimator)
   */
  klEstimator: z.enum(['k1', 'k3']).default('k1'),
  /**
   * Whiten the per-token rewards over the rollout batch before GAE (TRL's `whiten_rewards`; the mean
   * is kept). Steadier advantages when scores vary in scale. No memory effect.
   * @defaultValue false
   * @see https://huggingface.co/docs/trl/v0.29.1/en/ppo_trainer#trl.PPOConfig (whiten_rewards)
   */
  whitenRewards: z.boolean().default(false),
  /**
   * Subtracted from the score of a completion that has no eos, cut at `responseLength` (TRL's
   * `missing_eos_penalty`). Teaches the policy to finish. No memory effect.
   * @defaultValue undefined (TRL's None: no penalty)
   * @see https://huggingface.co/docs/trl/v0.29.1/en/ppo_trainer#trl.PPOConfig (missing_eos_penalty)
   */
  missingEosPenalty: z.number().min(0).optional(),
  /**
   * Sampling temperature of the completions (TRL's `temperature`); the log-probabilities of the loss
   * and of the KL are of logits / (temperature + 1e-7), as TRL computes them. Higher explores more.
   * @defaultValue 0.7
   * @see https://huggingface.co/docs/trl/v0.29.1/en/ppo_trainer#trl.PPOConfig (temperature)
   */
  temperature: z.number().positive().default(0.7),
  /**
   * Most tokens a sampled completion may have (TRL's `response_length`), eos included; a completion
   * ends at its first eos (TRL's `stop_token: 'eos'`). Activation memory and generation time grow with it.
   * @defaultValue 53
   * @see https://huggingface.co/docs/trl/v0.29.1/en/ppo_trainer#trl.PPOConfig (response_length)
   */
  responseLength: z.number().int().min(1).default(53),
})

/** The options of `stage: { kind: 'ppo' }`, resolved. */
export type PpoStageOptions = z.output<typeof ppoStageSchema>
