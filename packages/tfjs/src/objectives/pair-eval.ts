import type { DpoStageOptions, RefLogprobs } from '@tunekit/core'
import type { PreferencePair } from '@tunekit/data'
import type { AdapterState } from '../methods/state.ts'
import type { DecoderModel } from '../model/types.ts'
import { dpoLoss } from './dpo.ts'
import { pairBatch, sequenceLogps } from './pair-batch.ts'

const BATCH_PAIRS = 8 // pairs per forward pass: padding does not change a row's log-probabilities

/**
 * The held-out pairs' evaluation, as TRL's DPOTrainer logs it with an eval_dataset: the mean DPO
 * loss (`eval_loss`) and TRL's metrics, means over the pairs (`eval_rewards/accuracies`: the share
 * whose implicit reward margin β(ρ_w − ρ_l) is > 0), plus how many pairs the policy itself and the
 * reference give the chosen answer the higher log-probability (an accuracy that means something
 * before training too, where every margin is 0).
 */
export interface PairEval {
  pairs: number
  loss: number
  metrics: Record<string, number>
  /** Pairs where log π(chosen) > log π(rejected), for the policy and for the reference. */
  prefersChosen: { policy: number; reference: number }
}

/** Evaluates the policy (no dropout, no gradient) on the pairs `indices` against their reference log-probabilities. */
export function evaluatePairs(model: DecoderModel, adapter: AdapterState | undefined, options: DpoStageOptions, pairs: readonly PreferencePair[], indices: readonly number[], ref: RefLogprobs): PairEval {
  const sums: Record<string, number> = {}
  let loss = 0
  const prefersChosen = { policy: 0, reference: 0 }
  for (let start = 0; start < indices.length; start += BATCH_PAIRS) {
    const batch = pairBatch(pairs, indices.slice(start, start + BATCH_PAIRS))
    const reference = Float32Array.from([...batch.indices.map((i) => ref.chosen[i]!), ...batch.indices.map((i) => ref.rejected[i]!)])
    const logps = sequenceLogps(model, adapter, batch)
    const { losses, metrics } = dpoLoss(options, logps, reference, batch.lengths)
    const values = logps.dataSync()
    loss += losses.sum().dataSync()[0]!
    losses.dispose()
    logps.dispose()
    for (const [name, value] of Object.entries(metrics)) sums[name] = (sums[name] ?? 0) + value
    batch.indices.forEach((i, r) => {
      if (values[r]! > values[batch.pairs + r]!) prefersChosen.policy++
      if (ref.chosen[i]! > ref.rejected[i]!) prefersChosen.reference++
    })
  }
  const n = Math.max(1, indices.length)
  return { pairs: indices.length, loss: loss / n, metrics: Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / n])), prefersChosen }
}
