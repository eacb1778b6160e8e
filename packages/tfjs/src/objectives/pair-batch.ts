import type { PreferencePair } from '@tunekit/data'
import { tf } from '../engine.ts'
import type { AdapterState } from '../methods/state.ts'
import type { ForwardOptions } from '../model/linear.ts'
import { forwardHidden, headLogits } from '../model/decoder.ts'
import { gatherRows } from '../model/ops.ts'
import type { DecoderModel } from '../model/types.ts'
import { toTrainBatch, type TrainBatch } from '../train/batch.ts'

/**
 * A micro-batch of preference pairs as TRL's DataCollatorForPreference lays it out: rows 0..b-1 are
 * prompt ++ chosen, rows b..2b-1 prompt ++ rejected, right-padded, one forward pass for both.
 */
export interface PairBatch extends TrainBatch {
  pairs: number
  /** Pair indices (the pairs/ shard order), for the reference log-probabilities. */
  indices: number[]
  /** Labelled answer tokens per row [2b] (IPO's, ORPO's and SimPO's length normalisation). */
  lengths: number[]
  /** Predicted tokens of the chosen rows, prompt included: Σ (|prompt| + |chosen| − 1) (ORPO's NLL denominator). */
  chosenTokens: number
}

/** Answer rows after their prompt: [prompt ids, answer ids, answer labels (1 = carries loss)]. */
export type AnswerRow = readonly [Int32Array, Int32Array, Uint8Array]

/** Rows `prompt ++ answer`, right-padded, with next-token targets on the labelled answer tokens; `lengths` counts those per row. */
export function answerRowsBatch(rows: readonly AnswerRow[]): TrainBatch & { lengths: number[] } {
  const length = Math.max(...rows.map(([prompt, answer]) => prompt.length + answer.length))
  const ids = new Int32Array(rows.length * length)
  const mask = new Uint8Array(rows.length * length)
  const positions = new Int32Array(rows.length * length)
  const segments = new Int32Array(rows.length * length).fill(-1) // -1: padding, attended by nothing
  rows.forEach(([prompt, answer, labels], r) => {
    const at = r * length
    ids.set(prompt, at)
    ids.set(answer, at + prompt.length)
    mask.set(labels, at + prompt.length)
    for (let t = 0; t < prompt.length + answer.length; t++) {
      positions[at + t] = t
      segments[at + t] = 0
    }
  })
  const lengths = rows.map(([, , labels]) => labels.reduce((n, l) => n + l, 0))
  return { ...toTrainBatch({ rows: rows.length, length, ids, mask, positions, segments }), lengths }
}

/** The rows of `pairs` (chosen rows, then rejected rows) as a padded batch with next-token targets. */
export function pairBatch(pairs: readonly PreferencePair[], indices: readonly number[]): PairBatch {
  const chosen = indices.map((i) => pairs[i]!).map((p): AnswerRow => [p.promptIds, p.chosenIds, p.chosenLabels])
  const rejected = indices.map((i) => pairs[i]!).map((p): AnswerRow => [p.promptIds, p.rejectedIds, p.rejectedLabels])
  const chosenTokens = chosen.reduce((n, [prompt, answer]) => n + prompt.length + answer.length - 1, 0)
  return { ...answerRowsBatch([...chosen, ...rejected]), pairs: indices.length, indices: [...indices], chosenTokens }
}

/** Summed log-probabilities of a pair batch's rows, from one forward pass. */
export interface PairLogps {
  /** Σ log p over each row's labelled answer tokens: [2b], chosen rows then rejected rows ([b] for kto's batches). */
  answer: tf.Tensor1D
  /** Σ log p over every predicted token of each chosen row, prompt included: [b] (ORPO's NLL); only when asked. */
  wholeChosen?: tf.Tensor1D
}

/**
 * Σ_t log p(ids[t+1] | ids[..t]) over the labelled answer tokens of each row, and with
 * `wholeChosen` over every token after the first of each chosen row too. Logits only for those
 * positions; log p = logit[target] − logsumexp(logits).
 */
export function sequenceLogps(model: DecoderModel, adapter: AdapterState | undefined, batch: TrainBatch & { pairs?: number }, opts: ForwardOptions & { gradientCheckpointing?: boolean } = {}, wholeChosen = false): PairLogps {
  return tf.tidy(() => {
    const positions: number[] = []
    const targets: number[] = []
    const answerRow: number[] = [] // the row a position's log p adds to, or n (dropped) when it is not an answer token
    const wholeRow: number[] = [] // the chosen row it adds to, or b (dropped)
    const { seq, batch: n } = batch // n rows: 2b for a pair batch (chosen, then rejected), b for kto's
    const b = batch.pairs ?? 0
    for (let i = 0; i < batch.targets.length; i++) {
      const row = Math.floor(i / seq)
      const target = batch.targets[i]!
      // a chosen row's token predicts the next one while both are in the sequence (not padding)
      const inWhole = wholeChosen && row < b && (i + 1) % seq !== 0 && batch.segments[i]! >= 0 && batch.segments[i + 1]! >= 0
      if (target < 0 && !inWhole) continue
      positions.push(i)
      targets.push(inWhole ? batch.ids[i + 1]! : target)
      answerRow.push(target >= 0 ? row : n)
      wholeRow.push(inWhole ? row : b)
    }
    const tokenLogps = tf.reshape(pickedLogps(model, adapter, batch, positions, targets, opts), [-1, 1]) // [picked, 1]
    // Σ per row as a product with the rows' one-hot [rows, picked] (wasm has no UnsortedSegmentSum); a row index ≥ rows is dropped
    const sums = (rowOf: number[], rows: number): tf.Tensor1D => {
      const m = new Float32Array(rows * rowOf.length)
      rowOf.forEach((r, j) => { if (r < rows) m[r * rowOf.length + j] = 1 })
      return tf.reshape(tf.matMul(tf.tensor2d(m, [rows, rowOf.length]), tokenLogps), [-1]) as tf.Tensor1D
    }
    return { answer: sums(answerRow, n), ...(wholeChosen ? { wholeChosen: sums(wholeRow, b) } : {}) }
  })
}

/**
 * log p(targets[j] | ids[..positions[j]]) of one forward pass, [picked]: logits only at those
 * positions (flat indices into [rows * seq]), divided by `temperature` first (GRPO scores its
 * completions under the sampling distribution, as TRL does); log p = logit[target] − logsumexp(logits).
 */
export function pickedLogps(model: DecoderModel, adapter: AdapterState | undefined, batch: TrainBatch, positions: readonly number[], targets: readonly number[], opts: ForwardOptions & { gradientCheckpointing?: boolean } = {}, temperature = 1): tf.Tensor1D {
  return tf.tidy(() => {
    const hidden = forwardHidden(model, adapter, batch, opts) // [rows * seq, hidden]
    const raw = headLogits(model, adapter, gatherRows(hidden, Int32Array.from(positions))) // [picked, vocab]
    const logits: tf.Tensor2D = temperature === 1 ? raw : tf.div(raw, temperature)
    const vocab = logits.shape[1]
    // logits[target] as a one-hot product: tf.gather's gradient needs UnsortedSegmentSum, which wasm lacks
    // (tf.oneHot's float output is broken on wasm: cast its int32 output)
    const onehot = tf.cast(tf.oneHot(tf.tensor1d([...targets], 'int32'), vocab), 'float32')
    const picked = tf.sum(tf.mul(logits, onehot), 1) // [picked]
    return tf.sub(picked, tf.squeeze(tf.logSumExp(logits, 1, true), [1])) as tf.Tensor1D
  })
}

/** Length-averaged log-probabilities [2b]: each row's summed answer log p over its labelled tokens (ORPO, SimPO, TRL's average_log_prob). */
export const lengthAveraged = (logps: PairLogps, batch: PairBatch): tf.Tensor1D =>
  tf.tidy(() => tf.div(logps.answer, tf.tensor1d(batch.lengths.map((n) => Math.max(n, 1))))) as tf.Tensor1D
