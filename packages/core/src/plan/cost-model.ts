import type { ModelConfig } from '../families/types.ts'
import type { ParamCounts } from './model-size.ts'

// What a training run computes, counted from the model's shape, the method's trained tensors and
// the batch plan's real micro-batch shapes, and the seconds that takes on a backend calibrated by
// bench/vs-trainer.ts (issue 21). Two kinds of work run at different speeds on a CPU:
//   - matrix products (FLOPs): projections, LoRA, attention scores, the vocabulary head;
//   - element passes (memory-bound): softmax / cross-entropy over [tokens, vocab], the optimizer
//     over every trained parameter each step, a trained embedding's dense gradient each step.
// seconds = startSeconds + matmulFlops / matmulFlopsPerSecond + elementOps / elementsPerSecond.

/** The run's shape from the batch plan (or maxLength before collate ran). */
export interface RunShape {
  steps: number
  /** Rows × padded length summed over every micro-batch of the run. */
  paddedTokens: number
  /** Rows × padded length² summed over every micro-batch (attention's score products grow with it). */
  squaredTokens: number
  /** Tokens that go through the vocabulary head: every padded token, or only the trained ones under a chunked loss. */
  headTokens: number
}

/** The modules a method trains beside (or instead of) LoRA. */
export interface TrainedParts {
  /** lm_head is trained (saved module, full fine-tuning): its weight gradient costs one more product. */
  head: boolean
  /** embed_tokens is trained: a dense `[vocab, hidden]` gradient is zeroed and stepped each step. */
  embeddings: boolean
}

export interface RunCost {
  matmulFlops: number
  elementOps: number
  /** The parts, for the plan's notes and the tests. */
  parts: { linear: number; adapters: number; attention: number; head: number; softmax: number; optimizer: number; embeddings: number }
}

/** Element passes of the loss per vocabulary entry of a head token: the float32 upcast, max, exp, sum and log forward; softmax − one-hot and the upcast's gradient backward. */
export const SOFTMAX_PASSES = 10
/** Element passes of an AdamW step per trained parameter (read p, g, m, v; write p, m, v; the grad norm; zeroing the grad). */
export const OPTIMIZER_PASSES = 16

/**
 * FLOPs and element passes of a run. Per padded token a frozen linear weight costs 2 FLOPs forward
 * and 2 for its input gradient; a trained one (LoRA's A and B, a fully trained base) 2 more for its
 * weight gradient. Attention's two score products cost 4 · s · heads · headDim per token forward
 * and twice that backward (12 · rows · s² · heads · headDim per layer and micro-batch).
 */
export function runCost(config: ModelConfig, params: ParamCounts, trained: TrainedParts, shape: RunShape): RunCost {
  const vocab = config.vocabSize + params.addedTokens
  const headParams = vocab * config.hiddenSize
  const linearPasses = params.trainedInBase ? 6 : 4
  const linear = linearPasses * params.linear * shape.paddedTokens
  const adapters = 6 * (params.lora + params.doraMagnitudes) * shape.paddedTokens
  const attention = 12 * config.numHiddenLayers * config.numAttentionHeads * config.headDim * shape.squaredTokens
  const head = (trained.head ? 6 : 4) * headParams * shape.headTokens
  const softmax = SOFTMAX_PASSES * vocab * shape.headTokens
  const optimizer = OPTIMIZER_PASSES * params.trainable * shape.steps
  const embeddings = trained.embeddings ? 2 * headParams * shape.steps : 0
  return {
    matmulFlops: linear + adapters + attention + head,
    elementOps: softmax + optimizer + embeddings,
    parts: { linear, adapters, attention, head, softmax, optimizer, embeddings },
  }
}

/** A backend's speeds and memory overhead, fitted by bench/vs-trainer.ts (`--record`). */
export interface CostCalibration {
  backend: 'tfjs' | 'torch'
  engine: string
  device: string
  matmulFlopsPerSecond: number
  elementsPerSecond: number
  /** Seconds of a train node outside its steps: worker start, imports, model load, saving. */
  startSeconds: number
  /** Peak process RSS = rssBaseBytes + rssScale × the memory estimate's total (the runtime, allocator slack and copies the estimate does not count). */
  rssBaseBytes: number
  rssScale: number
  /** Mean 1-minute load average of the runs it was fitted on (> cores: the speeds are low). */
  load: number
  measuredAt: string
  bench: string
}

/** Seconds of a run on a calibrated backend. */
export const costSeconds = (cost: RunCost, cal: CostCalibration): number =>
  cal.startSeconds + cost.matmulFlops / cal.matmulFlopsPerSecond + cost.elementOps / cal.elementsPerSecond

/** Peak process RSS predicted from the memory estimate's total. */
export const processPeakBytes = (estimateTotal: number, cal: CostCalibration): number => cal.rssBaseBytes + cal.rssScale * estimateTotal

/** One measured run a calibration is fitted on. */
export interface CalibrationSample {
  cost: RunCost
  /** Seconds of the steps alone, and of the whole train node. */
  stepSeconds: number
  seconds: number
  peakRssBytes: number
  estimateTotal: number
}

/**
 * Fits the two speeds to the samples' step times (least squares on relative error: both kinds
 * of work are in every run, so two runs of different shapes separate them), the start-up as
 * the mean of what the steps leave of each node's time, and the RSS line through the samples.
 * When the two speeds cannot be separated (a speed comes out ≤ 0) one speed is fitted for both.
 */
export function fitCalibration(samples: readonly CalibrationSample[]): Pick<CostCalibration, 'matmulFlopsPerSecond' | 'elementsPerSecond' | 'startSeconds' | 'rssBaseBytes' | 'rssScale'> {
  if (samples.length === 0) throw new Error('fitCalibration needs at least one sample')
  // minimise Σ (a·M/t + b·X/t − 1)² over a = 1/matmul speed, b = 1/element speed
  const rows = samples.map((s) => [s.cost.matmulFlops / s.stepSeconds, s.cost.elementOps / s.stepSeconds] as const)
  const [saa, sab, sbb] = rows.reduce(([aa, ab, bb], [m, x]) => [aa + m * m, ab + m * x, bb + x * x], [0, 0, 0])
  const [sa, sb] = rows.reduce(([a, b], [m, x]) => [a + m, b + x], [0, 0])
  const det = saa * sbb - sab * sab
  let a = det !== 0 ? (sa * sbb - sb * sab) / det : 0
  let b = det !== 0 ? (sb * saa - sa * sab) / det : 0
  if (!(a > 0 && b > 0)) {
    // one speed for both kinds: minimise Σ (a·(M+X)/t − 1)²
    const w = rows.map(([m, x]) => m + x)
    a = b = w.reduce((n, v) => n + v, 0) / w.reduce((n, v) => n + v * v, 0)
  }
  const startSeconds = Math.max(0, samples.reduce((n, s) => n + (s.seconds - s.stepSeconds), 0) / samples.length)
  return { matmulFlopsPerSecond: 1 / a, elementsPerSecond: 1 / b, startSeconds, ...rssLine(samples) }
}

/** peak = base + scale · estimate through the samples (two or more of different sizes), else a ratio. */
function rssLine(samples: readonly CalibrationSample[]): { rssBaseBytes: number; rssScale: number } {
  const n = samples.length
  const mx = samples.reduce((s, x) => s + x.estimateTotal, 0) / n
  const my = samples.reduce((s, x) => s + x.peakRssBytes, 0) / n
  const sxx = samples.reduce((s, x) => s + (x.estimateTotal - mx) ** 2, 0)
  const scale = sxx > 0 ? samples.reduce((s, x) => s + (x.estimateTotal - mx) * (x.peakRssBytes - my), 0) / sxx : 0
  const base = my - scale * mx
  if (scale > 0 && base >= 0) return { rssBaseBytes: base, rssScale: scale }
  return { rssBaseBytes: 0, rssScale: my / mx }
}
