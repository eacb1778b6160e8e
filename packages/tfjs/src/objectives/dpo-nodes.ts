import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { findInputOfKind, inputOfKind, nodeParams, resolveModelDir, warmStartDir, writeJsonAtomic, type NodeContext, type NodeExecutor, type RefLogprobs, type TrainParams } from '@tunekit/core'
import { loadTokenizer, pairPlan, readPairSplit, requirePreferencePairs } from '@tunekit/data'
import { readTrainArtifact } from '@tunekit/hf'
import { selectEngine, type tf } from '../engine.ts'
import { loadTrained } from '../methods/index.ts'
import { disposeAdapter, type AdapterState } from '../methods/state.ts'
import { disposeModel, loadModel } from '../model/load.ts'
import type { DecoderModel } from '../model/types.ts'
import { quantizeOptions } from '../quantize-options.ts'
import { checkpointWriter } from '../train/checkpoint.ts'
import { writeTrainOutputs } from '../train/outputs.ts'
import { trainLoop, type StepObjective, type StepSource, type TrainSettings } from '../train/loop.ts'
import { optimizerSettings } from '../train/optimizer.ts'
import { warmupStepsOf } from '../train/schedule.ts'
import { openTrainNode, startTraining } from '../train/start.ts'
import { dpoLoss } from './dpo.ts'
import { orpoLoss } from './orpo.ts'
import { rmObjective } from './rm-step.ts'
import { pairBatch, sequenceLogps, type PairBatch, type PairLogps } from './pair-batch.ts'
import { evaluatePairs, type PairLoss } from './pair-eval.ts'
import { simpoLoss } from './simpo.ts'
import { ktoData, unpairedScorer } from './kto-nodes.ts'
import type { PreferenceData, RefScorer } from './preference-data.ts'

const BATCH_PAIRS = 8 // pairs per forward pass of the reference: padding does not change a row's log-probabilities

/**
 * The `ref-logprobs` node: the reference's summed log-probability of each pair's chosen and rejected
 * answer (TRL's precompute_ref_log_probs), once; for kto each example's completion and KL completion
 * (kto-nodes.ts). The reference is the policy training starts from: the base alone (a fresh adapter
 * adds nothing), or the base with `lora.init`'s adapter folder.
 */
export const refLogprobsExecutor: NodeExecutor = async (ctx) => {
  const p = nodeParams('ref-logprobs', ctx.node)
  const tokenizeDir = inputOfKind(ctx, 'tokenize')
  // the data first: a stage without its items fails before any model loads
  const score = p.examples === 'unpaired' ? await unpairedScorer(tokenizeDir, p) : await pairScorer(tokenizeDir, ctx.recipe.stage.kind)
  await selectEngine(p.device)
  const tok = await loadTokenizer(join(tokenizeDir, 'tokenizer'))
  const model = await loadModel(await resolveModelDir(inputOfKind(ctx, 'model')), { quantize: quantizeOptions(p.quantize), vocabSize: tok.vocabSize })
  const warm = p.adapter === undefined ? undefined : warmStartDir(p.adapter, ctx.baseDir)
  const adapter = warm ? loadTrained(model, await readTrainArtifact(warm)) : undefined
  try {
    await writeJsonAtomic(join(ctx.outDir, 'ref-logprobs.json'), score(model, adapter))
  } finally {
    if (adapter) disposeAdapter(adapter)
    disposeModel(model)
  }
}

/** ref-logprobs for the pair stages: the reference's log-probability of each pair's chosen and rejected answer. */
async function pairScorer(tokenizeDir: string, stage: string): Promise<RefScorer> {
  const { pairs } = await requirePreferencePairs(tokenizeDir, stage)
  return (model, adapter) => {
    const out: RefLogprobs = { records: pairs.map((q) => q.record), chosen: [], rejected: [] }
    for (let start = 0; start < pairs.length; start += BATCH_PAIRS) {
      const indices = Array.from({ length: Math.min(BATCH_PAIRS, pairs.length - start) }, (_, i) => start + i)
      const { answer } = sequenceLogps(model, adapter, pairBatch(pairs, indices))
      const values = [...(answer.dataSync() as Float32Array)]
      answer.dispose()
      out.chosen.push(...values.slice(0, indices.length))
      out.rejected.push(...values.slice(indices.length))
    }
    return out
  }
}

/** The objectives over pair log-probabilities (kto trains on examples: kto-nodes.ts; the reward model scores with its head: rm-step.ts). */
type Objective = Exclude<NonNullable<TrainParams['objective']>, { kind: 'kto' } | { kind: 'rm' } | { kind: 'grpo' } | { kind: 'ppo' }>

/**
 * Each preference objective's loss over a pair micro-batch (objectives/<kind>.ts), keyed by
 * `stage.kind`; `wholeChosen` when it needs the chosen sequences' log-probabilities beyond the
 * answer (ORPO's NLL over prompt and answer). Only DPO reads the reference.
 */
const pairLosses: { [K in Objective['kind']]: { wholeChosen: boolean; loss: (o: Extract<Objective, { kind: K }>, ref: RefLogprobs | undefined) => PairLoss } } = {
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

/** The objective's pair loss (`pairLosses`) with its options and reference, and whether it needs the whole chosen sequences. */
function pairLossOf<K extends Objective['kind']>(options: Extract<Objective, { kind: K }>, ref: RefLogprobs | undefined): { wholeChosen: boolean; loss: PairLoss } {
  const entry = pairLosses[options.kind as K]
  return { wholeChosen: entry.wholeChosen, loss: entry.loss(options, ref) }
}

/** A preference objective over pair micro-batches: per-pair losses summed, TRL's metrics per pair. */
function pairObjective(ctx: { model: DecoderModel; adapter: AdapterState; options: Objective; ref: RefLogprobs | undefined }): StepObjective<PairBatch> {
  const entry = pairLossOf(ctx.options, ctx.ref)
  const loss = entry.loss
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

/** The pair stages' train data: the tokenize artifact's pairs and, for dpo, the reference's log-probabilities of their answers. */
async function pairData(ctx: NodeContext, objective: Objective): Promise<PreferenceData<PairBatch>> {
  const { pairs } = await requirePreferencePairs(inputOfKind(ctx, 'tokenize'), objective.kind)
  const refDir = findInputOfKind(ctx, 'ref-logprobs') // dpo's reference; orpo and simpo have none
  const ref = refDir === undefined ? undefined : (JSON.parse(await readFile(join(refDir, 'ref-logprobs.json'), 'utf8')) as RefLogprobs)
  return {
    count: pairs.length,
    batch: (indices) => pairBatch(pairs, indices),
    objective: (model, adapter) => pairObjective({ model, adapter, options: objective, ref }),
    evaluate: (model, adapter, held) => evaluatePairs(model, adapter, pairLossOf(objective, ref), pairs, held, ref),
  }
}

/** The reward model's train data: the pairs, scored by the `score` head at each row's last real token (rm-step.ts). */
async function rmData(ctx: NodeContext, objective: Extract<NonNullable<TrainParams['objective']>, { kind: 'rm' }>): Promise<PreferenceData<PairBatch>> {
  const { pairs, padId } = await requirePreferencePairs(inputOfKind(ctx, 'tokenize'), objective.kind)
  return { count: pairs.length, batch: (indices) => pairBatch(pairs, indices), objective: (model, adapter) => rmObjective({ model, adapter, options: objective, padId }) }
}

/** The train node of a preference stage on tfjs: its items (pairs; kto's examples) in the pair plan's steps, the stage's loss (DPO against the ref-logprobs node, ORPO, SimPO, KTO, the reward model's), the method's artifact. */
export async function trainPreference(ctx: NodeContext): Promise<void> {
  const p = nodeParams('train', ctx.node)
  const objective = p.objective!
  if (objective.kind === 'grpo' || objective.kind === 'ppo') throw new Error(`trainPreference: the ${objective.kind} stage trains in ${objective.kind}-nodes.ts`)
  if (objective.kind === 'kto') return trainOn(ctx, await ktoData(inputOfKind(ctx, 'tokenize'), inputOfKind(ctx, 'ref-logprobs'), objective, p.args.batchSize, ctx.emit, ctx.node.id))
  if (objective.kind === 'rm') return trainOn(ctx, await rmData(ctx, objective))
  return trainOn(ctx, await pairData(ctx, objective))
}

async function trainOn<B>(ctx: NodeContext, data: PreferenceData<B>): Promise<void> {
  const { p, modelDir, tokenizeDir, tokenizerDir, tok } = await openTrainNode(ctx)
  const a = p.args
  // the items that train and, for the pair stages, the held-out pairs (pair-split; none without one)
  const split = await readPairSplit(ctx, data.count)
  const plan = pairPlan(split.train, a)
  const evaluate = split.eval.length > 0 ? data.evaluate : undefined
  const { model, resume, adapter, artifact } = await startTraining(ctx, { p, modelDir, tokenizeDir, vocabSize: tok.vocabSize })
  const settings: TrainSettings = {
    learningRate: a.learningRate, lrScheduler: a.lrScheduler, warmupSteps: warmupStepsOf(a, plan.totalSteps), maxGradNorm: a.maxGradNorm,
    optimizer: optimizerSettings(a, p.method),
    seed: a.seed, gradientCheckpointing: p.model.gradientCheckpointing, logEvery: a.logEvery, evalEvery: evaluate ? a.evalEvery : 'never', saveEvery: a.saveEvery,
  }
  const offsets = plan.steps.map((_, s) => plan.steps.slice(0, s).reduce((n, m) => n + m.length, 0))
  const source: StepSource<B> = {
    totalSteps: plan.totalSteps,
    stepsPerEpoch: plan.stepsPerEpoch,
    microBatches: (step) => plan.steps[step]!.map((indices) => data.batch(indices)),
    microBatchIndex: (step) => offsets[step] ?? plan.steps.reduce((n, m) => n + m.length, 0),
    ...(evaluate ? { evaluate: () => evaluate(model, adapter, split.eval) } : {}),
  }
  try {
    const result = await trainLoop({
      model, adapter, source, objective: data.objective(model, adapter), settings,
      ...(resume ? { resume: { trainerState: resume.trainerState, optimizer: resume.optimizer } } : {}),
      checkpoint: checkpointWriter(ctx.workDir, artifact, a.keepCheckpoints),
      emit: ctx.emit, signal: ctx.signal, node: ctx.node.id, recipeKey: ctx.node.key,
    })
    if (result.interrupted) return
    if (evaluate) {
      // the held-out pairs after training (eval.json beside the adapter), with an eval event unless the last step had one
      const held = evaluate(model, adapter, split.eval)
      if (result.evals.at(-1)?.step !== plan.totalSteps) ctx.emit({ type: 'eval', node: ctx.node.id, step: plan.totalSteps, epoch: plan.totalSteps / plan.stepsPerEpoch, loss: held.loss, metrics: held.metrics })
      await writeJsonAtomic(join(ctx.outDir, 'eval.json'), held)
    }
    await writeTrainOutputs({ outDir: ctx.outDir, artifact, adapter, lastCheckpoint: result.lastCheckpoint!, tokenizerDir, tokenizeDir })
  } finally {
    disposeAdapter(adapter)
    disposeModel(model)
  }
}
