import { permutation } from '../util/rng.ts'

/** What orders and groups preference pairs: the recipe's `args` the train node has. */
export interface PairPlanArgs {
  batchSize: number
  gradientAccumulationSteps: number
  epochs: number
  maxSteps?: number | undefined
  shuffle: boolean
  seed: number
}

/**
 * The optimizer steps of a preference stage: `steps[s]` is step s's micro-batches, each a list of
 * pair indices (record order of the tokenize artifact's `pairs/`). Epoch e visits the pairs in
 * order, or in `permutation(n, seed + e)` with `args.shuffle`, as the batch plan orders samples;
 * micro-batches of `batchSize` pairs (the last of an epoch may be shorter), `gradientAccumulationSteps`
 * of them per step (fewer at an epoch end), as Hugging Face's Trainer counts steps.
 */
export interface PairPlan {
  stepsPerEpoch: number
  totalSteps: number
  steps: number[][][]
}

/** The pair plan for `count` pairs, or for the pairs of an index list (pair-split's `train`), each step holding those indices (docs/architecture.md, "Preference shards"). */
export function pairPlan(pairs: number | readonly number[], a: PairPlanArgs): PairPlan {
  // a count plans pairs 0..count-1; a list (pair-split's train indices) plans those pairs
  const ids = typeof pairs === 'number' ? Array.from({ length: pairs }, (_, i) => i) : pairs
  const count = ids.length
  const microPerEpoch = Math.ceil(count / a.batchSize)
  const stepsPerEpoch = Math.max(1, Math.ceil(microPerEpoch / a.gradientAccumulationSteps))
  const totalSteps = a.maxSteps ?? Math.ceil(stepsPerEpoch * a.epochs)
  const steps: number[][][] = []
  for (let epoch = 0; steps.length < totalSteps; epoch++) {
    const order = (a.shuffle ? permutation(count, a.seed + epoch) : Array.from({ length: count }, (_, i) => i)).map((i) => ids[i]!)
    const micro = Array.from({ length: microPerEpoch }, (_, m) => order.slice(m * a.batchSize, (m + 1) * a.batchSize))
    for (let s = 0; s < stepsPerEpoch && steps.length < totalSteps; s++) steps.push(micro.slice(s * a.gradientAccumulationSteps, (s + 1) * a.gradientAccumulationSteps))
  }
  return { stepsPerEpoch, totalSteps, steps }
}
