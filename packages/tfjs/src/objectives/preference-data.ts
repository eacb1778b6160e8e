import type { RefLogprobs, UnpairedRefLogprobs } from '@tunekit/core'
import type { AdapterState } from '../methods/state.ts'
import type { DecoderModel } from '../model/types.ts'
import type { StepObjective } from '../train/loop.ts'

/**
 * What a preference stage's train node trains on (one per objective kind: dpo's pairs, kto's
 * examples): how many items its plan orders, the micro-batch of some of them, its objective and
 * the evaluation of held-out items.
 */
export interface PreferenceData<B> {
  count: number
  batch: (indices: number[]) => B
  objective: (model: DecoderModel, adapter: AdapterState) => StepObjective<B>
  /** The loss and TRL's eval metrics on held-out items (pair-split's `eval`); stages without held-out items have none. */
  evaluate?: (model: DecoderModel, adapter: AdapterState, indices: readonly number[]) => { loss: number; metrics: Record<string, number> }
}

/** ref-logprobs' scoring of a stage's items with the reference (read from the data before any model loads). */
export type RefScorer = (model: DecoderModel, adapter: AdapterState | undefined) => RefLogprobs | UnpairedRefLogprobs
