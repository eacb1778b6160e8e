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

/** The rows of `pairs` (chosen rows, then rejected rows) as a padded batch with next-token targets. */
export function pairBatch(pairs: readonly PreferencePair[], indices: readonly number[]): PairBatch {
  const chosen = indices.map((i) => pairs[i]!).map((p) => [p.promptIds, p.chosenIds, p.chosenLabels] as const)
  const rejected = indices.map((i) => pairs[i]!).map((p) => [p.promptIds, p.rejectedIds, p.rejectedLabels] as const)
  const rows = [...chosen, ...rejected]
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
  const chosenTokens = chosen.reduce((n, [prompt, answer]) => n + prompt.length + answer.length - 1, 0)
  return { ...toTrainBatch({ rows: rows.length, length, ids, mask, positions, segments }), pairs: indices.length, indices: [...indices], lengths, chosenTokens }
}

/** Summed log-probabilities of a pair batch's rows, from one forward pass. */
export interface PairLogps {
  /** Σ log p over each row's labelled answer tokens: [2b], chosen rows then rejected rows. */
  answer: tf.Tensor1D
  /** Σ log p over every predicted token of each chosen row, prompt included: [b] (ORPO's NLL); only when asked. */
  wholeChosen?: tf.Tensor1D
}

/**
 * Σ_t log p(ids[t+1] | ids[..t]) over the labelled answer tokens of each row, and with
 * `wholeChosen` over every token after the first of each chosen row too. Logits only for those
 * positions; log p = logit[target] − logsumexp(logits).
 */
export function sequenceLogps(model: DecoderModel, adapter: AdapterState | undefined, batch: PairBatch, opts: ForwardOptions & { gradientCheckpointing?: boolean } = {}, wholeChosen = false): PairLogps {
  return tf.tidy(() => {
    const positions: number[] = []
    const targets: number[] = []
    const answerRow: number[] = [] // the row a position's log p adds to, or 2b (dropped) when it is not an answer token
    const wholeRow: number[] = [] // the chosen row it adds to, or b (dropped)
    const { seq, pairs: b } = batch
    for (let i = 0; i < batch.targets.length; i++) {
      const row = Math.floor(i / seq)
      const target = batch.targets[i]!
      // a chosen row's token predicts the next one while both are in the sequence (not padding)
      const inWhole = wholeChosen && row < b && (i + 1) % seq !== 0 && batch.segments[i]! >= 0 && batch.segments[i + 1]! >= 0
      if (target < 0 && !inWhole) continue
      positions.push(i)
      targets.push(inWhole ? batch.ids[i + 1]! : target)
      answerRow.push(target >= 0 ? row : 2 * b)
      wholeRow.push(inWhole ? row : b)
    }
    const hidden = forwardHidden(model, adapter, batch, opts) // [rows * seq, hidden]
    const logits = headLogits(model, adapter, gatherRows(hidden, Int32Array.from(positions))) // [picked, vocab]
    const vocab = logits.shape[1]
    const flat = tf.tensor1d(Int32Array.from(targets, (t, r) => r * vocab + t), 'int32')
    const picked = tf.gather(tf.reshape(logits, [-1]), flat) // [picked]
    const tokenLogps = tf.sub(picked, tf.squeeze(tf.logSumExp(logits, 1, true), [1]))
    const sums = (rowOf: number[], rows: number): tf.Tensor1D => tf.slice(tf.unsortedSegmentSum(tokenLogps, tf.tensor1d(rowOf, 'int32'), rows + 1), 0, rows) as tf.Tensor1D
    return { answer: sums(answerRow, 2 * b), ...(wholeChosen ? { wholeChosen: sums(wholeRow, b) } : {}) }
  })
}

/** Length-averaged log-probabilities [2b]: each row's summed answer log p over its labelled tokens (ORPO, SimPO, TRL's average_log_prob). */
export const lengthAveraged = (logps: PairLogps, batch: PairBatch): tf.Tensor1D =>
  tf.tidy(() => tf.div(logps.answer, tf.tensor1d(batch.lengths.map((n) => Math.max(n, 1))))) as tf.Tensor1D
