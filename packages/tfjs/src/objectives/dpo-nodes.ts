import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { inputOfKind, nodeParams, readTrainableTokenIds, resolveModelDir, warmStartDir, writeJsonAtomic, type DpoStageOptions, type NodeContext, type NodeExecutor, type RefLogprobs } from '@tunekit/core'
import { loadTokenizer, pairPlan, requirePreferencePairs } from '@tunekit/data'
import { adapterBaseModel, readLatestCheckpoint, readTrainArtifact } from '@tunekit/hf'
import { selectEngine, type tf } from '../engine.ts'
import { loadTrained, setupMethod } from '../methods/index.ts'
import { disposeAdapter, type AdapterState } from '../methods/state.ts'
import { disposeModel, loadModel } from '../model/load.ts'
import type { DecoderModel } from '../model/types.ts'
import { quantizeOptions } from '../quantize-options.ts'
import { checkpointWriter } from '../train/checkpoint.ts'
import { writeTrainOutputs } from '../train/outputs.ts'
import { trainLoop, type StepObjective, type StepSource, type TrainSettings } from '../train/loop.ts'
import { warmupStepsOf } from '../train/schedule.ts'
import { dpoLoss } from './dpo.ts'
import { rmObjective } from './rm-step.ts'
import { pairBatch, sequenceLogps, type PairBatch } from './pair-batch.ts'

const BATCH_PAIRS = 8 // pairs per forward pass of the reference: padding does not change a row's log-probabilities

/**
 * The `ref-logprobs` node: the reference's summed log-probability of each pair's chosen and rejected
 * answer (TRL's precompute_ref_log_probs), once. The reference is the policy training starts from:
 * the base alone (a fresh adapter adds nothing), or the base with `lora.init`'s adapter folder.
 */
export const refLogprobsExecutor: NodeExecutor = async (ctx) => {
  const p = nodeParams('ref-logprobs', ctx.node)
  const tokenizeDir = inputOfKind(ctx, 'tokenize')
  const { pairs } = await requirePreferencePairs(tokenizeDir, ctx.recipe.stage.kind)
  await selectEngine(p.device)
  const tok = await loadTokenizer(join(tokenizeDir, 'tokenizer'))
  const model = await loadModel(await resolveModelDir(inputOfKind(ctx, 'model')), { quantize: quantizeOptions(p.quantize), vocabSize: tok.vocabSize })
  const warm = p.adapter === undefined ? undefined : warmStartDir(p.adapter, ctx.baseDir)
  const adapter = warm ? loadTrained(model, await readTrainArtifact(warm)) : undefined
  try {
    const out: RefLogprobs = { records: pairs.map((q) => q.record), chosen: [], rejected: [] }
    for (let start = 0; start < pairs.length; start += BATCH_PAIRS) {
      const indices = Array.from({ length: Math.min(BATCH_PAIRS, pairs.length - start) }, (_, i) => start + i)
      const logps = sequenceLogps(model, adapter, pairBatch(pairs, indices))
      const values = [...(logps.dataSync() as Float32Array)]
      logps.dispose()
      out.chosen.push(...values.slice(0, indices.length))
      out.rejected.push(...values.slice(indices.length))
    }
    await writeJsonAtomic(join(ctx.outDir, 'ref-logprobs.json'), out)
  } finally {
    if (adapter) disposeAdapter(adapter)
    disposeModel(model)
  }
}

/** The DPO objective over pair micro-batches: per-pair losses summed, TRL's metrics per pair. */
function dpoObjective(ctx: { model: DecoderModel; adapter: AdapterState; options: DpoStageOptions; ref: RefLogprobs }): StepObjective<PairBatch> {
  return {
    lossSum: (batch, opts) => {
      const reference = Float32Array.from([...batch.indices.map((i) => ctx.ref.chosen[i]!), ...batch.indices.map((i) => ctx.ref.rejected[i]!)])
      const logps = sequenceLogps(ctx.model, ctx.adapter, batch, opts)
      const { losses, metrics } = dpoLoss(ctx.options, logps, reference, batch.lengths)
      const loss: tf.Scalar = losses.sum()
      return { loss, metrics }
    },
    units: (batch) => batch.pairs,
    tokens: (batch) => batch.segments.reduce((n, seg) => n + (seg >= 0 ? 1 : 0), 0),
  }
}

/** The train node of a preference stage on tfjs: the pair plan's steps, the stage's loss (DPO's, the reward model's), the method's artifact. */
export async function trainPreference(ctx: NodeContext): Promise<void> {
  const p = nodeParams('train', ctx.node)
  const objective = p.objective!
  const engine = await selectEngine(p.device)
  ctx.emit({ type: 'log', node: ctx.node.id, level: 'info', message: `tfjs engine: ${engine.engine} (${engine.reason})` })
  const modelDir = await resolveModelDir(inputOfKind(ctx, 'model'))
  const tokenizeDir = inputOfKind(ctx, 'tokenize')
  const tokenizerDir = join(tokenizeDir, 'tokenizer')
  const tok = await loadTokenizer(tokenizerDir)
  const { pairs, padId } = await requirePreferencePairs(tokenizeDir, objective.kind)
  // DPO's reference log-probabilities; the reward model has no reference
  const ref = objective.kind === 'dpo' ? (JSON.parse(await readFile(join(inputOfKind(ctx, 'ref-logprobs'), 'ref-logprobs.json'), 'utf8')) as RefLogprobs) : undefined
  const a = p.args
  const plan = pairPlan(pairs.length, a)
  const model = await loadModel(modelDir, { quantize: quantizeOptions(p.model.quantize), vocabSize: tok.vocabSize })
  const latest = await readLatestCheckpoint(ctx.workDir)
  const resume = latest && latest.trainerState.recipeKey === ctx.node.key ? latest : undefined
  const { state: adapter, trained } = await setupMethod({ model, method: p.method, modelDir, trainableTokenIds: await readTrainableTokenIds(tokenizeDir), seed: a.seed, baseDir: ctx.baseDir, resumed: resume?.adapter.tensors })
  const artifact = { method: trained, family: p.model.family, ...adapterBaseModel(p.model, modelDir) }
  const settings: TrainSettings = {
    learningRate: a.learningRate, lrScheduler: a.lrScheduler, warmupSteps: warmupStepsOf(a, plan.totalSteps), maxGradNorm: a.maxGradNorm,
    optimizer: { kind: a.optimizer === 'sgd' ? 'sgd' : 'adamw', beta1: a.adamBeta1, beta2: a.adamBeta2, epsilon: a.adamEpsilon, weightDecay: a.weightDecay },
    seed: a.seed, gradientCheckpointing: p.model.gradientCheckpointing, logEvery: a.logEvery, evalEvery: 'never', saveEvery: a.saveEvery,
  }
  const offsets = plan.steps.map((_, s) => plan.steps.slice(0, s).reduce((n, m) => n + m.length, 0))
  const source: StepSource<PairBatch> = {
    totalSteps: plan.totalSteps,
    stepsPerEpoch: plan.stepsPerEpoch,
    microBatches: (step) => plan.steps[step]!.map((indices) => pairBatch(pairs, indices)),
    microBatchIndex: (step) => offsets[step] ?? plan.steps.reduce((n, m) => n + m.length, 0),
  }
  try {
    const result = await trainLoop({
      model, adapter, source, settings,
      objective: objective.kind === 'rm' ? rmObjective({ model, adapter, options: objective, padId }) : dpoObjective({ model, adapter, options: objective, ref: ref! }),
      ...(resume ? { resume: { trainerState: resume.trainerState, optimizer: resume.optimizer } } : {}),
      checkpoint: checkpointWriter(ctx.workDir, artifact, a.keepCheckpoints),
      emit: ctx.emit, signal: ctx.signal, node: ctx.node.id, recipeKey: ctx.node.key,
    })
    if (result.interrupted) return
    await writeTrainOutputs({ outDir: ctx.outDir, artifact, adapter, lastCheckpoint: result.lastCheckpoint!, tokenizerDir, tokenizeDir })
  } finally {
    disposeAdapter(adapter)
    disposeModel(model)
  }
}
