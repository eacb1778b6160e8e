import { fail, type RunEventInput } from '@tunekit/core'
import type { FloatTensor, TrainerState } from '@tunekit/hf'
import { tf } from '../engine.ts'
import { adapterTensors, trainableEntries, type AdapterState } from '../methods/state.ts'
import type { DecoderModel } from '../model/types.ts'
import type { ForwardOptions } from '../model/linear.ts'
import type { TrainBatch } from './batch.ts'
import { lossSum } from './loss.ts'
import { clipGlobalNorm, createOptimizer, disposeOptimizer, optimizerStep, optimizerTensors, restoreOptimizer, type OptimizerSettings } from './optimizer.ts'
import { lrMultiplier, type SchedulerKind } from './schedule.ts'
import { processMemory } from '../process-memory.ts'

export interface TrainSettings {
  learningRate: number
  lrScheduler: SchedulerKind
  warmupSteps: number
  maxGradNorm: number
  optimizer: OptimizerSettings
  /** Seed of the dropout masks: micro-batch g of the run uses seed·100003 + g, so a resumed run draws the same. */
  seed: number
  gradientCheckpointing: boolean
  /** Emit a step event every this many steps (and on the first and last). */
  logEvery: number
  /** Eval every N steps, at each epoch end, or never. */
  evalEvery: number | 'epoch' | 'never'
  /** Checkpoint every N steps, at each epoch end, or only at the end. */
  saveEvery: number | 'epoch' | 'never'
}

/** Where the micro-batches of each optimizer step come from (the batch plan, or a preference stage's pair plan). */
export interface StepSource<B = TrainBatch> {
  totalSteps: number
  stepsPerEpoch: number
  /** Micro-batches of optimizer step `step` (0-based), `gradientAccumulationSteps` of them or fewer at an epoch end; a Promise where they are made online (grpo samples and scores its completions). */
  microBatches: (step: number) => B[] | Promise<B[]>
  /** Micro-batches consumed before step `step` (the plan position stored in checkpoints). */
  microBatchIndex: (step: number) => number
  eval?: () => TrainBatch[]
  /** An objective's own held-out evaluation (a preference stage's held-out pairs): loss and metrics (means over its examples); instead of `eval`'s token loss. */
  evaluate?: () => { loss: number; metrics?: Record<string, number> }
}

/** What a checkpoint writer receives; it returns the checkpoint's path. */
export interface CheckpointRequest {
  step: number
  adapter: Map<string, FloatTensor>
  optimizer: Map<string, FloatTensor>
  trainerState: TrainerState
}

/**
 * What a micro-batch contributes to its step: its summed loss over its units (trained tokens for
 * next-token cross-entropy, pairs for DPO), so that a step's loss is the mean over all its units
 * and accumulation equals one big batch; its real tokens (for tokens/s) and, for objectives that
 * log more than the loss, the sums of their per-unit metrics (the step event carries their means).
 */
export interface StepObjective<B> {
  lossSum: (batch: B, opts: ForwardOptions & { gradientCheckpointing?: boolean }) => { loss: tf.Scalar; metrics?: Record<string, number> }
  units: (batch: B) => number
  tokens: (batch: B) => number
  /**
   * The step's metrics from the sums of its micro-batches' `metrics` and its units, for objectives
   * whose metrics are not means over every unit (KTO's rewards/chosen: over the desirable examples).
   * @defaultValue each sum / units
   */
  stepMetrics?: (sums: Readonly<Record<string, number>>, units: number) => Record<string, number>
}

const meanPerUnit = (sums: Readonly<Record<string, number>>, units: number): Record<string, number> =>
  Object.fromEntries(Object.entries(sums).map(([name, sum]) => [name, sum / Math.max(1, units)]))

/** Next-token cross-entropy over the trained tokens (sft, pretrain). */
export const tokenObjective = (model: DecoderModel, adapter: AdapterState | undefined): StepObjective<TrainBatch> => ({
  lossSum: (batch, opts) => ({ loss: lossSum(model, adapter, batch, opts) }),
  units: (batch) => batch.trained,
  tokens: (batch) => batch.segments.reduce((n, seg) => n + (seg >= 0 ? 1 : 0), 0),
})

export interface TrainLoopOptions<B = TrainBatch> {
  model: DecoderModel
  adapter: AdapterState
  source: StepSource<B>
  /** @defaultValue tokenObjective(model, adapter) (only for TrainBatch micro-batches) */
  objective?: StepObjective<B>
  settings: TrainSettings
  /** Resume point: a checkpoint's trainer state and optimizer moments. */
  resume?: { trainerState: TrainerState; optimizer: ReadonlyMap<string, FloatTensor> }
  checkpoint?: (request: CheckpointRequest) => Promise<string>
  emit?: (event: RunEventInput) => void
  signal?: AbortSignal
  node?: string
  recipeKey?: string
  /** Extra bytes held outside the engine (packed quantised weights), for memory events. */
  hostBytes?: number
}

export interface TrainResult {
  /** Loss of every optimizer step of the run, including those before a resume. */
  losses: number[]
  evals: Array<{ step: number; loss: number }>
  step: number
  interrupted: boolean
  lastCheckpoint?: string
  /** Peak bytes: engine tensors at the end of each forward pass (activations alive) plus `hostBytes`. */
  peakBytes: number
}

/** Mean loss over eval batches (no dropout, no gradient). */
export function evalLoss(model: DecoderModel, adapter: AdapterState | undefined, batches: readonly TrainBatch[]): number {
  let sum = 0
  let count = 0
  for (const b of batches) {
    const l = lossSum(model, adapter, b)
    sum += l.dataSync()[0]!
    l.dispose()
    count += b.trained
  }
  return count === 0 ? NaN : sum / count
}

const due = (cadence: number | 'epoch' | 'never', step: number, stepsPerEpoch: number): boolean =>
  cadence === 'never' ? false : cadence === 'epoch' ? step % stepsPerEpoch === 0 : step % cadence === 0

/**
 * The training loop: per optimizer step, accumulate gradients over its micro-batches with the loss
 * normalised by all their trained tokens, clip by global norm, apply the scheduled learning rate.
 */
export async function trainLoop<B = TrainBatch>(o: TrainLoopOptions<B>): Promise<TrainResult> {
  const { model, adapter, source, settings: s } = o
  const objective = o.objective ?? (tokenObjective(model, adapter) as unknown as StepObjective<B>)
  const entries = trainableEntries(adapter)
  const keys = entries.map(([k]) => k)
  const vars = entries.map(([, v]) => v)
  const optimizer = createOptimizer(s.optimizer, vars, keys)
  const losses = [...(o.resume?.trainerState.lossHistory ?? [])]
  const evals = [...(o.resume?.trainerState.evalHistory ?? [])]
  let step = o.resume?.trainerState.step ?? 0
  if (o.resume) restoreOptimizer(optimizer, keys, o.resume.optimizer, step)
  const node = o.node ?? 'train'
  let lastCheckpoint: string | undefined
  let peakBytes = 0
  const started = performance.now()
  const firstStep = step

  const save = async (): Promise<void> => {
    if (!o.checkpoint) return
    const trainerState: TrainerState = {
      step,
      epoch: step / source.stepsPerEpoch,
      microBatch: source.microBatchIndex(step),
      rng: { seed: s.seed, scheme: 'tfjs-dropout-v1: seed * 100003 + micro-batch index' },
      recipeKey: o.recipeKey ?? '',
      lossHistory: [...losses],
      evalHistory: [...evals],
      backend: 'tfjs',
    }
    lastCheckpoint = await o.checkpoint({ step, adapter: adapterTensors(adapter), optimizer: optimizerTensors(optimizer, keys), trainerState })
    o.emit?.({ type: 'checkpoint', node, step, path: lastCheckpoint })
  }

  try {
    while (step < source.totalSteps) {
      // A step is synchronous tfjs work: yield once per step so that Ctrl-C (SIGINT → abort) is seen.
      await new Promise<void>((resolve) => setImmediate(resolve))
      if (o.signal?.aborted) {
        await save()
        return { losses, evals, step, interrupted: true, lastCheckpoint, peakBytes }
      }
      const stepStart = performance.now()
      const micro = await source.microBatches(step)
      const trained = micro.reduce((n, b) => n + objective.units(b), 0)
      const firstMicro = source.microBatchIndex(step)
      // no zero-filled start: the first micro-batch's gradients are the sum so far (16.7M floats a step on issue 21's job: a fill and an add saved)
      let sums: Array<tf.Tensor | undefined> = vars.map(() => undefined)
      let loss = 0
      let tokens = 0
      const metricSums: Record<string, number> = {}
      micro.forEach((batch, j) => {
        tokens += objective.tokens(batch)
        const f = (): tf.Scalar => {
          const { loss: l, metrics } = objective.lossSum(batch, { training: true, seed: s.seed * 100003 + firstMicro + j, gradientCheckpointing: s.gradientCheckpointing })
          for (const [name, value] of Object.entries(metrics ?? {})) metricSums[name] = (metricSums[name] ?? 0) + value
          // The end of the forward pass is the high-water mark: every activation the backward needs is alive.
          peakBytes = Math.max(peakBytes, tf.memory().numBytes + (o.hostBytes ?? 0))
          return tf.div(l, Math.max(1, trained))
        }
        const { value, grads: named } = tf.variableGrads(f, vars)
        loss += value.dataSync()[0]!
        value.dispose()
        sums = sums.map((g, i) => {
          const d = named[vars[i]!.name]
          if (!d || !g) return g ?? d
          const sum = tf.add(g, d)
          tf.dispose([g, d])
          return sum
        })
      })
      const grads = sums.map((g, i) => g ?? tf.zerosLike(vars[i]!)) // a tensor the loss never reached: zero
      if (!Number.isFinite(loss)) {
        tf.dispose(grads)
        await save()
        fail('NonFiniteLoss', { path: 'args.learningRate', value: s.learningRate }, step + 1, loss)
      }
      const gradNorm = clipGlobalNorm(grads, s.maxGradNorm)
      const lr = s.learningRate * lrMultiplier(s.lrScheduler, step, s.warmupSteps, source.totalSteps)
      optimizerStep(optimizer, vars, grads, lr)
      tf.dispose(grads)
      step++
      losses.push(loss)
      const bytes = tf.memory().numBytes + (o.hostBytes ?? 0)
      peakBytes = Math.max(peakBytes, bytes)
      if (step === firstStep + 1 || step % s.logEvery === 0 || step === source.totalSteps) {
        const elapsed = (performance.now() - started) / 1000
        o.emit?.({
          type: 'step', node, step, totalSteps: source.totalSteps, epoch: step / source.stepsPerEpoch, loss, learningRate: lr, gradNorm,
          tokensPerSecond: tokens / ((performance.now() - stepStart) / 1000), memoryBytes: bytes, rssBytes: processMemory().rssBytes,
          etaSeconds: (elapsed / (step - firstStep)) * (source.totalSteps - step),
          ...(Object.keys(metricSums).length > 0 ? { metrics: (objective.stepMetrics ?? meanPerUnit)(metricSums, trained) } : {}),
        })
      }
      if ((source.evaluate || source.eval) && due(s.evalEvery, step, source.stepsPerEpoch)) {
        const { loss: l, metrics } = source.evaluate ? source.evaluate() : { loss: evalLoss(model, adapter, source.eval!()), metrics: undefined }
        evals.push({ step, loss: l })
        o.emit?.({ type: 'eval', node, step, epoch: step / source.stepsPerEpoch, loss: l, ...(metrics ? { metrics } : {}) })
      }
      if (due(s.saveEvery, step, source.stepsPerEpoch) && step < source.totalSteps) await save()
    }
    await save()
    return { losses, evals, step, interrupted: false, lastCheckpoint, peakBytes }
  } finally {
    disposeOptimizer(optimizer)
  }
}
