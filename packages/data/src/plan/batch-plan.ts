import { fail, type BatchPlan, type MicroBatch, type Segment } from '@tunekit/core'

export type { BatchPlan, MicroBatch, Segment }
import { permutation } from '../util/rng.ts'

export interface PlanOptions {
  batchSize: number
  gradientAccumulationSteps: number
  epochs: number
  maxSteps?: number | undefined
  groupByLength: boolean
  seed: number
  /** `args.shuffle`: false keeps the samples' order (the data files' order) in every epoch. */
  shuffle: boolean
  packing: boolean
  maxLength: number
}

/** HF's LengthGroupedSampler: megabatches of 50 × batch in shuffled order, each sorted longest first. */
function groupedOrder(order: number[], lengths: readonly number[], batchSize: number): number[] {
  const mega = batchSize * 50
  const out: number[] = []
  for (let i = 0; i < order.length; i += mega) {
    const chunk = order.slice(i, i + mega).sort((a, b) => lengths[b]! - lengths[a]! || a - b)
    out.push(...chunk)
  }
  return out
}

/** Rows in `order`: one sample per row, or packed greedily in order into rows of `seqLen`. */
function rowsOf(order: readonly number[], lengths: readonly number[], packing: boolean, seqLen: number): Segment[][] {
  if (!packing) return order.map((s) => [{ sample: s, start: 0, length: lengths[s]! }])
  const rows: Segment[][] = []
  let row: Segment[] = []
  let used = 0
  for (const s of order) {
    const length = Math.min(lengths[s]!, seqLen)
    if (used + length > seqLen && row.length > 0) {
      rows.push(row)
      row = []
      used = 0
    }
    row.push({ sample: s, start: 0, length })
    used += length
  }
  if (row.length > 0) rows.push(row)
  return rows
}

const rowLength = (row: readonly Segment[]): number => row.reduce((n, s) => n + s.length, 0)

function batchesOf(rows: Segment[][], batchSize: number): MicroBatch[] {
  const out: MicroBatch[] = []
  for (let i = 0; i < rows.length; i += batchSize) {
    const batch = rows.slice(i, i + batchSize)
    out.push({ length: Math.max(...batch.map(rowLength)), rows: batch })
  }
  return out
}

/**
 * The batch plan: per epoch a seeded order (seed + epoch; file order with `shuffle: false`), grouped by length or packed if asked,
 * cut into micro-batches padded to their longest row. Steps follow Hugging Face's Trainer:
 * steps per epoch = max(1, floor(micro-batches / gradient accumulation)); maxSteps overrides
 * epochs; a fractional epoch count rounds the total up. Deterministic for a seed.
 */
export function makeBatchPlan(
  train: { lengths: readonly number[]; trained?: readonly number[] },
  evalSet: { lengths: readonly number[] },
  opts: PlanOptions,
): BatchPlan {
  const n = train.lengths.length
  if (n === 0) fail('NoTrainingSteps', { path: 'args.batchSize', value: opts.batchSize }, 0, opts.batchSize * opts.gradientAccumulationSteps)
  const epochPlan = (epoch: number): { microBatches: MicroBatch[] } => {
    let order = opts.shuffle ? permutation(n, opts.seed + epoch) : Array.from({ length: n }, (_, i) => i)
    if (opts.groupByLength && !opts.packing) order = groupedOrder(order, train.lengths, opts.batchSize)
    return { microBatches: batchesOf(rowsOf(order, train.lengths, opts.packing, opts.maxLength), opts.batchSize) }
  }
  const first = epochPlan(0)
  const microBatches = first.microBatches.length
  const stepsPerEpoch = Math.max(1, Math.floor(microBatches / opts.gradientAccumulationSteps))
  const totalSteps = opts.maxSteps ?? Math.ceil(opts.epochs * stepsPerEpoch)
  const epochCount = Math.max(1, Math.ceil(totalSteps / stepsPerEpoch))
  const epochsPlan = [first]
  for (let e = 1; e < epochCount; e++) epochsPlan.push(epochPlan(e))

  let real = 0
  let padded = 0
  for (const b of first.microBatches) {
    padded += b.rows.length * b.length
    for (const row of b.rows) real += rowLength(row)
  }
  const trainedTokensPerEpoch = train.trained ? train.trained.reduce((a, b) => a + b, 0) : 0
  const evalRows = rowsOf(evalSet.lengths.map((_, i) => i), evalSet.lengths, false, opts.maxLength)
  return {
    version: 1,
    seqLen: opts.maxLength,
    microBatchSize: opts.batchSize,
    gradientAccumulationSteps: opts.gradientAccumulationSteps,
    stepsPerEpoch,
    totalSteps,
    epochs: opts.maxSteps !== undefined ? totalSteps / stepsPerEpoch : opts.epochs,
    paddingEfficiency: padded === 0 ? 1 : Math.round((real / padded) * 1e4) / 1e4,
    trainedTokensPerEpoch,
    packing: opts.packing,
    seed: opts.seed,
    epochsPlan,
    eval: { microBatches: batchesOf(evalRows, opts.batchSize) },
  }
}
