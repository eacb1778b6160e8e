import type { UnpairedExample } from '@tunekit/data'
import type { TrainBatch } from '../train/batch.ts'
import { answerRowsBatch, type AnswerRow } from './pair-batch.ts'

/**
 * A micro-batch of KTO examples as TRL's DataCollatorForUnpairedPreference lays it out: rows
 * prompt ++ completion, right-padded; with a KL term, `kl` holds the rows prompt ++ KL completion
 * (the completion of `klOf[i]`), a second forward pass without gradient.
 */
export interface KtoBatch extends TrainBatch {
  examples: number
  /** Example indices (`requireKtoExamples` order), for the reference log-probabilities. */
  indices: number[]
  desirable: boolean[]
  kl?: TrainBatch
}

/** The completion rows of `indices`, and their KL rows when `klOf` is given. */
export function ktoBatch(examples: readonly UnpairedExample[], indices: readonly number[], klOf?: readonly number[]): KtoBatch {
  const rows = indices.map((i) => examples[i]!).map((e): AnswerRow => [e.promptIds, e.completionIds, e.labels])
  const kl = klOf ? answerRowsBatch(indices.map((i): AnswerRow => [examples[i]!.promptIds, examples[klOf[i]!]!.completionIds, examples[klOf[i]!]!.labels])) : undefined
  return { ...answerRowsBatch(rows), examples: indices.length, indices: [...indices], desirable: indices.map((i) => examples[i]!.desirable), ...(kl ? { kl } : {}) }
}
