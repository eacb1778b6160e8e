import { pairPlan, type PairPlanArgs } from './pair-plan.ts'

/** The steps of the grpo stage: which prompts each step samples for, and where each completion comes from. */
export interface GrpoPlan {
  stepsPerEpoch: number
  totalSteps: number
  /** Prompt indices (prompts.jsonl order) of step s: batchSize × gradientAccumulationSteps / numGenerations of them (fewer at an epoch end). */
  prompts: number[][]
}

/**
 * The grpo stage's steps over `count` prompts: a step trains on `batchSize × gradientAccumulationSteps`
 * completions, `numGenerations` of each of its prompts (TRL's RepeatSampler lays a group out
 * consecutively), so it visits `that / numGenerations` prompts, ordered as the pair plan orders
 * pairs (in order, or `permutation(n, seed + epoch)` with `args.shuffle`).
 */
export function grpoPlan(count: number, a: PairPlanArgs, numGenerations: number): GrpoPlan {
  const perStep = Math.max(1, Math.floor((a.batchSize * a.gradientAccumulationSteps) / numGenerations))
  const plan = pairPlan(count, { ...a, batchSize: perStep, gradientAccumulationSteps: 1 })
  return { stepsPerEpoch: plan.stepsPerEpoch, totalSteps: plan.totalSteps, prompts: plan.steps.map((micro) => micro.flat()) }
}

/**
 * The seed completion `j` of step `step` is sampled with: distinct for every completion of a run
 * and a function of the step alone, so a resumed run samples what the first run would have.
 */
export const completionSeed = (seed: number, step: number, completionsPerStep: number, j: number): number => seed * 1_000_003 + step * completionsPerStep + j
