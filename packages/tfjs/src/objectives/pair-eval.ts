import type { RefLogprobs } from '@tunekit/core'
import type { PreferencePair } from '@tunekit/data'
import type { tf } from '../engine.ts'
import type { AdapterState } from '../methods/state.ts'
import type { DecoderModel } from '../model/types.ts'
import { pairBatch, sequenceLogps, type PairBatch, type PairLogps } from './pair-batch.ts'

const BATCH_PAIRS = 8 // pairs per forward pass: padding does not change a row's log-probabilities

/** A preference objective's loss over a pair micro-batch: per-pair losses [b] and its metrics' sums over the pairs. */
export type PairLoss = (batch: PairBatch, logps: PairLogps) => { losses: tf.Tensor1D; metrics: Record<string, number> }

/**
 * The held-out pairs' evaluation, as TRL's trainers log it with an eval_dataset: the mean loss
 * (`eval_loss`) and the objective's metrics, means over the pairs (DPO's
 * `eval_rewards/accuracies`: the share whose implicit reward margin β(ρ_w − ρ_l) is > 0), plus how
 * many pairs the policy itself (and, with one, the reference) gives the chosen answer the higher
 * log-probability: an accuracy that means something before training too, where every margin is 0.
 */
export interface PairEval {
  pairs: number
  loss: number
  metrics: Record<string, number>
  /** Pairs where log π(chosen) > log π(rejected), for the policy and, when there is one, the reference. */
  prefersChosen: { policy: number; reference?: number }
}

/** Evaluates the policy (no dropout, no gradient) on the pairs `indices` with the objective's `loss`. */
export function evaluatePairs(model: DecoderModel, adapter: AdapterState | undefined, loss: { wholeChosen: boolean; loss: PairLoss }, pairs: readonly PreferencePair[], indices: readonly number[], ref: RefLogprobs | undefined): PairEval {
  const sums: Record<string, number> = {}
  let total = 0
  const prefersChosen = { policy: 0, reference: 0 }
  for (let start = 0; start < indices.length; start += BATCH_PAIRS) {
    const batch = pairBatch(pairs, indices.slice(start, start + BATCH_PAIRS))
    const logps = sequenceLogps(model, adapter, batch, {}, loss.wholeChosen)
    const { losses, metrics } = loss.loss(batch, logps)
    const values = logps.answer.dataSync()
    total += losses.sum().dataSync()[0]!
    losses.dispose()
    logps.answer.dispose()
    logps.wholeChosen?.dispose()
    for (const [name, value] of Object.entries(metrics)) sums[name] = (sums[name] ?? 0) + value
    batch.indices.forEach((i, r) => {
      if (values[r]! > values[batch.pairs + r]!) prefersChosen.policy++
      if (ref && ref.chosen[i]! > ref.rejected[i]!) prefersChosen.reference++
    })
  }
  const n = Math.max(1, indices.length)
  return {
    pairs: indices.length, loss: total / n, metrics: Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / n])),
    prefersChosen: ref ? prefersChosen : { policy: prefersChosen.policy },
  }
}
