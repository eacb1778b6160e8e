import type { TrainParams } from '@tunekit/core'
import { tf, type Var2D } from '../engine.ts'
import type { AdapterState } from '../methods/state.ts'
import { forwardHidden, headLogits } from '../model/decoder.ts'
import { gatherRows } from '../model/ops.ts'
import { scoreRewards } from '../model/score-head.ts'
import type { DecoderModel } from '../model/types.ts'
import type { TrainBatch } from '../train/batch.ts'
import type { StepObjective } from '../train/loop.ts'
import { answerRowsBatch, type AnswerRow } from './pair-batch.ts'

export type PpoOptions = Extract<NonNullable<TrainParams['objective']>, { kind: 'ppo' }>

/** One completion of a rollout, with what the loss compares against (TRL's mb_* tensors). */
export interface PpoRow {
  promptIds: readonly number[]
  /** The completion's tokens, its eos included when it stopped there [L]. */
  completion: readonly number[]
  /** log π_old of each completion token [L]. */
  logprobs: readonly number[]
  /** Whitened advantages [L]. */
  advantages: readonly number[]
  /** Returns [min(L + 1, W)]. */
  returns: readonly number[]
  /** The rollout's values [min(L + 1, W)]. */
  values: readonly number[]
}

/** A micro-batch of rollout rows (prompt ++ completion, right-padded; the completion's tokens are the targets). */
export interface PpoBatch extends TrainBatch {
  rows: readonly PpoRow[]
  /** The rollout's metrics, on the first micro-batch of each optimizer step. */
  metrics?: Record<string, number>
}

export function ppoBatch(rows: readonly PpoRow[], metrics?: Record<string, number>): PpoBatch {
  const answerRows = rows.map((r): AnswerRow => [Int32Array.from(r.promptIds), Int32Array.from(r.completion), new Uint8Array(r.completion.length).fill(1)])
  return { ...answerRowsBatch(answerRows), rows, ...(metrics ? { metrics } : {}) }
}

/**
 * Flat positions [rows * seq] of a batch: the logits predicting each completion token (the token
 * before it), and the value of each state V(s_t), t < min(L + 1, W) (the same positions, then the
 * completion's last token: TRL's vpred = value[:, context_length − 1 : −1] kept one past the end).
 */
export function ppoPositions(batch: PpoBatch): { logit: number[]; targets: number[]; value: number[] } {
  const logit: number[] = []
  const targets: number[] = []
  const value: number[] = []
  batch.rows.forEach((r, i) => {
    const start = i * batch.seq + r.promptIds.length - 1
    r.completion.forEach((id, t) => {
      logit.push(start + t)
      targets.push(id)
    })
    r.values.forEach((_, t) => value.push(start + t))
  })
  return { logit, targets, value }
}

/** Log-probabilities [picked] of `targets` under `logits / (temperature + 1e-7)` and the entropy of each position's distribution. */
function logpsAndEntropy(logits: tf.Tensor2D, targets: readonly number[], temperature: number): { logps: tf.Tensor1D; entropy: tf.Tensor1D } {
  const scaled = tf.div(logits, temperature + 1e-7) as tf.Tensor2D
  const onehot = tf.cast(tf.oneHot(tf.tensor1d([...targets], 'int32'), scaled.shape[1]), 'float32') // wasm: no float oneHot, no gather gradient
  const lse = tf.squeeze(tf.logSumExp(scaled, 1, true), [1])
  const logps = tf.sub(tf.sum(tf.mul(scaled, onehot), 1), lse) as tf.Tensor1D
  // H = logsumexp(z) − Σ softmax(z)·z (TRL's entropy of the trained logits)
  const entropy = tf.sub(lse, tf.sum(tf.mul(tf.softmax(scaled), scaled), 1)) as tf.Tensor1D
  return { logps, entropy }
}

const meanOf = (t: tf.Tensor): tf.Scalar => tf.mean(t) as tf.Scalar

/**
 * PPO's loss of a micro-batch (TRL 0.29.1 PPOTrainer.train(), ppo_trainer.py 805–843):
 *   ratio_t = exp(log π(o_t) − log π_old(o_t))
 *   L_pg = mean_t max(−A_t·ratio_t, −A_t·clip(ratio_t, 1 − ε, 1 + ε))         over completion tokens
 *   L_vf = ½ · mean_t max((v_t − R_t)², (clip(v_t, v_old ± ε_v) − R_t)²)        over value positions
 *   loss = L_pg + vfCoef · L_vf
 * from one forward pass: the policy's logits (÷ (temperature + 1e-7)) and the value head on the
 * same final hidden states. Returns the loss and the values behind TRL's per-step statistics.
 */
export function ppoLoss(o: PpoOptions, model: DecoderModel, adapter: AdapterState, valueHead: Var2D, batch: PpoBatch, opts: Parameters<typeof forwardHidden>[3] = {}): { loss: tf.Scalar; stats: Record<string, number> } {
  const { logit, targets, value } = ppoPositions(batch)
  const hidden = forwardHidden(model, adapter, batch, opts) // [rows * seq, hidden]
  const { logps, entropy } = logpsAndEntropy(headLogits(model, adapter, gatherRows(hidden, Int32Array.from(logit))), targets, o.temperature)
  const vpred = scoreRewards(hidden, Int32Array.from(value), valueHead) // [value positions]: the value head, Linear(hidden, 1, bias=False)
  const old = tf.tensor1d(batch.rows.flatMap((r) => r.logprobs))
  const advantages = tf.tensor1d(batch.rows.flatMap((r) => r.advantages))
  const returns = tf.tensor1d(batch.rows.flatMap((r) => r.returns))
  const oldValues = tf.tensor1d(batch.rows.flatMap((r) => r.values))
  const vclipped = tf.minimum(tf.maximum(vpred, tf.sub(oldValues, o.cliprangeValue)), tf.add(oldValues, o.cliprangeValue))
  const vf1 = tf.square(tf.sub(vpred, returns))
  const vf2 = tf.square(tf.sub(vclipped, returns))
  const vfLoss = tf.mul(meanOf(tf.maximum(vf1, vf2)), 0.5)
  const diff = tf.sub(logps, old)
  const ratio = tf.exp(diff)
  const pg1 = tf.mul(tf.neg(advantages), ratio)
  const pg2 = tf.mul(tf.neg(advantages), tf.clipByValue(ratio, 1 - o.cliprange, 1 + o.cliprange))
  const pgLoss = meanOf(tf.maximum(pg1, pg2))
  const loss = tf.add(pgLoss, tf.mul(vfLoss, o.vfCoef)) as tf.Scalar
  const host = (t: tf.Tensor): number => t.dataSync()[0]!
  // TRL's statistics (ppo_trainer.py 847–866), means over the completion tokens (value positions for the value's)
  const stats = {
    'loss/policy_avg': host(pgLoss),
    'loss/value_avg': host(vfLoss),
    'policy/clipfrac_avg': host(meanOf(tf.cast(tf.greater(pg2, pg1), 'float32'))),
    'val/clipfrac_avg': host(meanOf(tf.cast(tf.greater(vf2, vf1), 'float32'))),
    'policy/approxkl_avg': host(tf.mul(meanOf(tf.square(diff)), 0.5)),
    'policy/entropy_avg': host(meanOf(entropy)),
    'val/ratio': host(meanOf(ratio)),
  }
  return { loss, stats }
}

/**
 * The PPO objective over a rollout's micro-batches: ppoLoss on the policy and its value head; a
 * micro-batch is one unit, so an optimizer step's loss is the mean over its micro-batches (TRL's
 * gradient accumulation). The value head trains with the adapter (it is among the loop's variables).
 */
export function ppoObjective(model: DecoderModel, adapter: AdapterState, valueHead: Var2D, o: PpoOptions): StepObjective<PpoBatch> {
  return {
    lossSum: (batch, opts) => {
      const { loss, stats } = ppoLoss(o, model, adapter, valueHead, batch, opts)
      return { loss, metrics: { ...stats, ...(batch.metrics ? Object.fromEntries(Object.entries(batch.metrics).map(([k, v]) => [`_rollout ${k}`, v])) : {}) } }
    },
    units: () => 1,
    tokens: (batch) => batch.segments.reduce((n, seg) => n + (seg >= 0 ? 1 : 0), 0),
    // the micro-batch statistics are means over micro-batches; the rollout's are given once per step
    stepMetrics: (sums, units) => Object.fromEntries(Object.entries(sums).map(([k, v]) => (k.startsWith('_rollout ') ? [k.slice(9), v] : [k, v / Math.max(1, units)]))),
  }
}
