import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { findInputOfKind, inputOfKind, nodeParams, readTrainableTokenIds, resolveModelDir, warmStartDir, writeJsonAtomic, type NodeContext, type NodeExecutor, type RefLogprobs, type TrainParams } from '@tunekit/core'
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
import { optimizerSettings } from '../train/optimizer.ts'
import { warmupStepsOf } from '../train/schedule.ts'
import { dpoLoss } from './dpo.ts'
import { orpoLoss } from './orpo.ts'
import { rmObjective } from './rm-step.ts'
import { pairBatch, sequenceLogps, type PairBatch, type PairLogps } from './pair-batch.ts'
import { simpoLoss } from './simpo.ts'

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
      const { answer } = sequenceLogps(model, adapter, pairBatch(pairs, indices))
      const values = [...(answer.dataSync() as Float32Array)]
      answer.dispose()
      out.chosen.push(...values.slice(0, indices.length))
      out.rejected.push(...values.slice(indices.length))
    }
    await writeJsonAtomic(join(ctx.outDir, 'ref-logprobs.json'), out)
  } finally {
    if (adapter) disposeAdapter(adapter)
    disposeModel(model)
  }
}

type Objective = NonNullable<TrainParams['objective']>
/** The objectives over pair log-probabilities (the reward model scores with its head instead). */
type PairOptions = Exclude<Objective, { kind: 'rm' }>
type PairKind = PairOptions['kind']
type PairLoss = (batch: PairBatch, logps: PairLogps) => { losses: tf.Tensor1D; metrics: Record<string, number> }

/**
 * Each preference objective's loss over a pair micro-batch (objectives/<kind>.ts), keyed by
 * `stage.kind`; `wholeChosen` when it needs the chosen sequences' log-probabilities beyond the
 * answer (ORPO's NLL over prompt and answer). Only DPO reads the reference.
 */
const pairLosses: { [K in PairKind]: { wholeChosen: boolean; loss: (o: Extract<PairOptions, { kind: K }>, ref: RefLogprobs | undefined) => PairLoss } } = {
  dpo: {
    wholeChosen: false,
    loss: (o, ref) => (batch, logps) => {
      const reference = Float32Array.from([...batch.indices.map((i) => ref!.chosen[i]!), ...batch.indices.map((i) => ref!.rejected[i]!)])
      return dpoLoss(o, logps.answer, reference, batch.lengths)
    },
  },
  orpo: { wholeChosen: true, loss: (o) => (batch, logps) => orpoLoss(o, logps, batch) },
  simpo: { wholeChosen: false, loss: (o) => (batch, logps) => simpoLoss(o, logps, batch) },
}

/** A preference objective over pair micro-batches: per-pair losses summed, TRL's metrics per pair. */
function pairObjective<K extends PairKind>(ctx: { model: DecoderModel; adapter: AdapterState; options: Extract<PairOptions, { kind: K }>; ref: RefLogprobs | undefined }): StepObjective<PairBatch> {
  const entry = pairLosses[ctx.options.kind as K]
  const loss = entry.loss(ctx.options, ctx.ref)
  return {
    lossSum: (batch, opts) => {
      const logps = sequenceLogps(ctx.model, ctx.adapter, batch, opts, entry.wholeChosen)
      const { losses, metrics } = loss(batch, logps)
      const total: tf.Scalar = losses.sum()
      return { loss: total, metrics }
    },
    units: (batch) => batch.pairs,
    tokens: (batch) => batch.segments.reduce((n, seg) => n + (seg >= 0 ? 1 : 0), 0),
  }
}

/** The train node of a preference stage on tfjs: the pair plan's steps, the stage's loss (DPO against the ref-logprobs node, ORPO, SimPO, the reward model's), the method's artifact. */
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
  const refDir = findInputOfKind(ctx, 'ref-logprobs') // dpo's reference; orpo, simpo and rm have none
  const ref = refDir === undefined ? undefined : (JSON.parse(await readFile(join(refDir, 'ref-logprobs.json'), 'utf8')) as RefLogprobs)
  const a = p.args
  const plan = pairPlan(pairs.length, a)
  const model = await loadModel(modelDir, { quantize: quantizeOptions(p.model.quantize), vocabSize: tok.vocabSize })
  const latest = await readLatestCheckpoint(ctx.workDir)
  const resume = latest && latest.trainerState.recipeKey === ctx.node.key ? latest : undefined
  const { state: adapter, trained } = await setupMethod({ model, method: p.method, modelDir, trainableTokenIds: await readTrainableTokenIds(tokenizeDir), seed: a.seed, baseDir: ctx.baseDir, resumed: resume?.adapter.tensors })
  const artifact = { method: trained, family: p.model.family, ...adapterBaseModel(p.model, modelDir) }
  const settings: TrainSettings = {
    learningRate: a.learningRate, lrScheduler: a.lrScheduler, warmupSteps: warmupStepsOf(a, plan.totalSteps), maxGradNorm: a.maxGradNorm,
    optimizer: optimizerSettings(a, p.method),
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
      // the reward model reads its head, not log-probabilities (rm-step.ts)
      objective: objective.kind === 'rm' ? rmObjective({ model, adapter, options: objective, padId }) : pairObjective({ model, adapter, options: objective, ref }),
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
