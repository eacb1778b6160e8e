// The batch plan, the collate node's artifact (`plan.json`; docs/architecture.md, "Batch plan"):
// written by @tunekit/data, read by both backends and by the planner.

/** A piece of a sample placed in a row; position ids restart at 0 in each segment. */
export interface Segment {
  sample: number
  start: number
  length: number
}

/** One micro-batch: rows of segments, padded (right) to `length`. */
export interface MicroBatch {
  length: number
  rows: Segment[][]
}

/** `plan.json`. */
export interface BatchPlan {
  version: 1
  seqLen: number
  microBatchSize: number
  gradientAccumulationSteps: number
  stepsPerEpoch: number
  totalSteps: number
  epochs: number
  /** Real tokens ÷ (rows × padded length), over the first epoch. */
  paddingEfficiency: number
  /** Labels (mask 1 after position 0) seen per epoch. */
  trainedTokensPerEpoch: number
  packing: boolean
  seed: number
  epochsPlan: { microBatches: MicroBatch[] }[]
  eval: { microBatches: MicroBatch[] }
}
