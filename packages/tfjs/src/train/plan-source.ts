import { materializeBatch, type BatchPlan, type MicroBatch, type Shards } from '@tunekit/data'
import { toTrainBatch, type TrainBatch } from './batch.ts'
import type { StepSource } from './loop.ts'

/**
 * Optimizer steps from a batch plan: step s is epoch `floor(s / stepsPerEpoch)`, micro-batches
 * `[k·accum, (k+1)·accum)` of it with k = s mod stepsPerEpoch (all of them when an epoch has fewer
 * than `accum`), as Hugging Face's Trainer counts steps.
 */
export function planSource(plan: BatchPlan, train: Shards, evalShards?: Shards): StepSource {
  const accum = plan.gradientAccumulationSteps
  const microOf = (step: number): MicroBatch[] => {
    const epoch = plan.epochsPlan[Math.floor(step / plan.stepsPerEpoch) % plan.epochsPlan.length]!
    const k = step % plan.stepsPerEpoch
    return epoch.microBatches.length < accum ? epoch.microBatches : epoch.microBatches.slice(k * accum, (k + 1) * accum)
  }
  const evalBatches = evalShards && plan.eval.microBatches.length > 0 ? (): TrainBatch[] => plan.eval.microBatches.map((b) => toTrainBatch(materializeBatch(evalShards, b))) : undefined
  return {
    totalSteps: plan.totalSteps,
    stepsPerEpoch: plan.stepsPerEpoch,
    microBatches: (step) => microOf(step).map((b) => toTrainBatch(materializeBatch(train, b))),
    microBatchIndex: (step) => step * accum,
    ...(evalBatches ? { eval: evalBatches } : {}),
  }
}

/** A step source over batches held in memory: step s takes `steps[s]`. For tests and benchmarks. */
export function listSource(steps: TrainBatch[][], evalBatches?: TrainBatch[]): StepSource {
  const offsets = steps.map((_, s) => steps.slice(0, s).reduce((n, m) => n + m.length, 0))
  return {
    totalSteps: steps.length,
    stepsPerEpoch: steps.length,
    microBatches: (step) => steps[step]!,
    microBatchIndex: (step) => offsets[step] ?? steps.reduce((n, m) => n + m.length, 0),
    ...(evalBatches ? { eval: () => evalBatches } : {}),
  }
}
