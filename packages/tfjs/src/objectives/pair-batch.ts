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
  /** Labelled answer tokens per row [2b] (IPO's length normalisation). */
  lengths: number[]
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
  return { ...toTrainBatch({ rows: rows.length, length, ids, mask, positions, segments }), pairs: indices.length, indices: [...indices], lengths }
}

/**
 * Σ_t log p(ids[t+1] | ids[..t]) over the labelled answer tokens of each row: [2b]. Logits only for
 * those positions; log p = logit[target] − logsumexp(logits).
 */
export function sequenceLogps(model: DecoderModel, adapter: AdapterState | undefined, batch: PairBatch, opts: ForwardOptions & { gradientCheckpointing?: boolean } = {}): tf.Tensor1D {
  return tf.tidy(() => {
    const positions: number[] = []
    const targets: number[] = []
    const rowOf: number[] = []
    batch.targets.forEach((t, i) => {
      if (t >= 0) {
        positions.push(i)
        targets.push(t)
        rowOf.push(Math.floor(i / batch.seq))
      }
    })
    const hidden = forwardHidden(model, adapter, batch, opts) // [rows * seq, hidden]
    const logits = headLogits(model, adapter, gatherRows(hidden, Int32Array.from(positions))) // [labelled, vocab]
    const vocab = logits.shape[1]
    // logits[target] as a one-hot product: tf.gather's gradient needs UnsortedSegmentSum, which wasm lacks
    // (tf.oneHot's float output is broken on wasm: cast its int32 output)
    const onehot = tf.cast(tf.oneHot(tf.tensor1d(targets, 'int32'), vocab), 'float32')
    const picked = tf.sum(tf.mul(logits, onehot), 1) // [labelled]
    const tokenLogps = tf.sub(picked, tf.squeeze(tf.logSumExp(logits, 1, true), [1]))
    // Σ per row as a product with the rows' one-hot [rows, labelled] (wasm has no UnsortedSegmentSum kernel)
    const rows = new Float32Array(batch.batch * rowOf.length)
    rowOf.forEach((r, j) => (rows[r * rowOf.length + j] = 1))
    return tf.reshape(tf.matMul(tf.tensor2d(rows, [batch.batch, rowOf.length]), tf.reshape(tokenLogps, [-1, 1])), [-1]) as tf.Tensor1D
  })
}
