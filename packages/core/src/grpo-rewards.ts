// The grpo stage's rewards and advantages, backend-independent: tfjs calls them in-process; the
// torch driver answers the worker's reward requests with `scoreCompletions`.
import { fail } from './errors/tunekit-error.ts'
import type { RunEventInput } from './events.ts'
import type { NodeContext } from './backend.ts'
import type { GrpoExample, RewardFunction } from './schema/stage-grpo.ts'

/**
 * Each reward function's score of each completion: [completion][function]. Calls the functions in
 * order over the completions (async ones awaited together); a throw or a value that is not a finite
 * number is GrpoRewardThrew (TK494) / GrpoRewardNotNumber (TK493), naming the function (its index,
 * and its name when it has one), the completion and its example's id.
 */
export async function scoreCompletions(rewards: readonly RewardFunction[], completions: readonly string[], examples: readonly GrpoExample[]): Promise<number[][]> {
  const names = rewards.map((f) => (f.name && f.name !== 'anonymous' ? f.name : ''))
  return Promise.all(completions.map(async (completion, i) => {
    const row: number[] = []
    for (const [f, reward] of rewards.entries()) {
      let value: unknown
      try {
        value = await reward(completion, examples[i]!)
      } catch (e) {
        fail('GrpoRewardThrew', { path: `stage.rewards.${f}`, value: completion }, f, e instanceof Error ? e.message : String(e), completion, names[f], examples[i]!.id)
      }
      if (typeof value !== 'number' || !Number.isFinite(value)) fail('GrpoRewardNotNumber', { path: `stage.rewards.${f}`, value: completion }, f, typeof value === 'number' ? String(value) : typeof value, completion, names[f], examples[i]!.id)
      row.push(value)
    }
    return row
  }))
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
/** Unbiased (Bessel) standard deviation, as TRL's nanstd; NaN for one value. */
const std = (xs: readonly number[]): number => {
  const m = mean(xs)
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1))
}

/** A step's rewards turned into advantages, as TRL's GRPOTrainer does (`_generate_and_score_completions`). */
export interface Advantages {
  /** Weighted reward of each completion: Σ_f w_f · r_f. */
  rewards: number[]
  /** (r − mean of its group) / (std + 1e-4); without the division for scaleRewards 'none'; 0 where NaN. */
  advantages: number[]
  /** The std each completion's advantage was divided by (its group's, or the step's for 'batch'). */
  stds: number[]
}

/**
 * Group-normalised advantages over completions laid out group by group (`numGenerations`
 * consecutive completions share a prompt): A_i = (r_i − mean_g) / (std + 1e-4), std the group's
 * (`'group'`) or the whole step's (`'batch'`), unbiased as torch.std; `'none'` keeps r_i − mean_g.
 */
export function groupAdvantages(perFunction: readonly (readonly number[])[], weights: readonly number[] | undefined, numGenerations: number, scale: 'group' | 'batch' | 'none'): Advantages {
  const rewards = perFunction.map((row) => row.reduce((sum, r, f) => sum + r * (weights?.[f] ?? 1), 0))
  const groups = Array.from({ length: rewards.length / numGenerations }, (_, g) => rewards.slice(g * numGenerations, (g + 1) * numGenerations))
  const stepStd = std(rewards)
  const stds = rewards.map((_, i) => (scale === 'batch' ? stepStd : std(groups[Math.floor(i / numGenerations)]!)))
  const advantages = rewards.map((r, i) => {
    const centred = r - mean(groups[Math.floor(i / numGenerations)]!)
    const a = scale === 'none' ? centred : centred / (stds[i]! + 1e-4)
    return Number.isNaN(a) ? 0 : a
  })
  return { rewards, advantages, stds }
}

/**
 * TRL's reward metrics of a step: `reward` (mean weighted reward), `reward_std` (mean of the stds
 * the advantages used), `rewards/<name>/mean` and `/std` per function (its name, or its index),
 * `frac_reward_zero_std` (completions whose group's rewards are all equal).
 */
export function rewardMetrics(perFunction: readonly (readonly number[])[], names: readonly string[], a: Advantages): Record<string, number> {
  const out: Record<string, number> = { reward: mean(a.rewards), reward_std: mean(a.stds.map((s) => (Number.isNaN(s) ? 0 : s))) }
  names.forEach((name, f) => {
    const column = perFunction.map((row) => row[f]!)
    out[`rewards/${name}/mean`] = mean(column)
    out[`rewards/${name}/std`] = column.length > 1 ? std(column) : 0
  })
  out.frac_reward_zero_std = a.stds.filter((s) => Math.abs(s) < 1e-8).length / a.stds.length
  return out
}

/** The metric name of each reward function: its own name when it has one (TRL's `__name__`), else its index. */
export const rewardNames = (rewards: readonly RewardFunction[]): string[] => rewards.map((f, i) => (f.name && f.name !== 'anonymous' ? f.name : String(i)))

/** The recipe's reward functions, checked against the train node's key (their source text). */
export function recipeRewards(ctx: NodeContext, keyed: readonly string[]): readonly RewardFunction[] {
  const { stage } = ctx.recipe
  const rewards = stage.kind === 'grpo' ? stage.rewards : []
  if (rewards.length !== keyed.length || rewards.some((f, i) => f.toString() !== keyed[i])) {
    throw new Error('grpo: the recipe\'s reward functions are not those of the train node\'s key (the graph was compiled from another recipe)')
  }
  return rewards
}

/** What a reward function sees of a prompt's record (a line of tokenize's prompts.jsonl). */
export const grpoExampleOf = (p: { id: string; messages: GrpoExample['messages']; answer?: string }): GrpoExample => ({ id: p.id, messages: p.messages, ...(p.answer === undefined ? {} : { answer: p.answer }) })

/** Completion lengths as TRL logs them: mean/min/max, and the share cut at maxCompletionLength (no eos). */
export function completionMetrics(completions: readonly (readonly number[])[], eosId: number): Record<string, number> {
  const lengths = completions.map((c) => c.length)
  return {
    'completions/mean_length': lengths.reduce((a, b) => a + b, 0) / lengths.length,
    'completions/min_length': Math.min(...lengths),
    'completions/max_length': Math.max(...lengths),
    'completions/clipped_ratio': completions.filter((c) => c.at(-1) !== eosId).length / completions.length,
  }
}

const SAMPLES_SHOWN = 2 // completions a logged step shows as sample events

/**
 * The sample events of step `step` (0-based) on the first step and each logged one: the first
 * completions' question (the prompt's last turn), text and reward.
 */
export function grpoSampleEvents(node: string, step: number, logEvery: number, examples: readonly GrpoExample[], texts: readonly string[], rewards: readonly number[]): RunEventInput[] {
  if (step !== 0 && (step + 1) % logEvery !== 0) return []
  return examples.slice(0, SAMPLES_SHOWN).map((example, j) => ({ type: 'sample', node, prompt: example.messages.at(-1)?.content ?? '', completion: `${texts[j]} (reward ${rewards[j]!.toFixed(3)})` }))
}

/** What scoring a step's completions needs of the stage and its tokenizer. */
export interface GrpoScoring {
  rewards: readonly RewardFunction[]
  rewardWeights: readonly number[] | undefined
  numGenerations: number
  scaleRewards: 'group' | 'batch' | 'none'
  eosId: number
  /** Token ids → text (the tokenize artifact's tokenizer). */
  decode: (ids: number[]) => string
}

/** A step's completions scored: their texts, each function's rewards, the advantages and TRL's step metrics. */
export interface ScoredStep {
  texts: string[]
  perFunction: number[][]
  advantages: Advantages
  metrics: Record<string, number>
}

/**
 * One step's completions (token ids, eos kept when sampled) decoded without their eos, scored by
 * the reward functions of the prompts' `examples` (one per completion, group by group), with the
 * group-normalised advantages and the reward and length metrics: what both backends do with a
 * step's samples (tfjs in-process, torch answering its worker's reward request).
 */
export async function scoreGrpoStep(s: GrpoScoring, completions: readonly (readonly number[])[], examples: readonly GrpoExample[]): Promise<ScoredStep> {
  const texts = completions.map((ids) => s.decode(ids.at(-1) === s.eosId ? ids.slice(0, -1) : [...ids]))
  const perFunction = await scoreCompletions(s.rewards, texts, examples)
  const advantages = groupAdvantages(perFunction, s.rewardWeights, s.numGenerations, s.scaleRewards)
  const metrics = { ...rewardMetrics(perFunction, rewardNames(s.rewards), advantages), ...completionMetrics(completions, s.eosId) }
  return { texts, perFunction, advantages, metrics }
}
