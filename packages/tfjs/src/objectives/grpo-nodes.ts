import { grpoExampleOf, grpoSampleEvents, nodeParams, recipeRewards, scoreGrpoStep, warmStartDir, type GrpoExample, type GrpoScoring, type NodeContext, type ScoredStep, type TrainParams } from '@tunekit/core'
import { completionSeed, grpoPlan, readPrompts, type LoadedTokenizer, type PromptLine } from '@tunekit/data'
import { readTrainArtifact } from '@tunekit/hf'
import { generateIds } from '../generate.ts'
import { loadTrained } from '../methods/index.ts'
import { disposeAdapter, type AdapterState } from '../methods/state.ts'
import { disposeModel } from '../model/load.ts'
import type { DecoderModel } from '../model/types.ts'
import { checkpointWriter } from '../train/checkpoint.ts'
import { trainLoop, type StepSource, type TrainSettings } from '../train/loop.ts'
import { optimizerSettings } from '../train/optimizer.ts'
import { writeTrainOutputs } from '../train/outputs.ts'
import { warmupStepsOf } from '../train/schedule.ts'
import { openTrainNode, startTraining } from '../train/start.ts'
import { grpoObjective, labelledPositions, type GrpoBatch, type GrpoOptions } from './grpo.ts'
import { answerRowsBatch, pickedLogps, type AnswerRow } from './pair-batch.ts'

/**
 * The reference of the KL term: the policy training starts from, as TRL's GRPOTrainer takes it
 * (the base with the adapter off for a fresh adapter, whose B = 0 adds nothing; a frozen copy of
 * `lora.init`'s adapter for a warm start: TRL's "ref" adapter). The ppo stage's reference too.
 */
export async function referenceOf(ctx: NodeContext, p: TrainParams, model: DecoderModel): Promise<AdapterState | undefined> {
  const warm = p.method.kind === 'lora' ? warmStartDir(p.method.init, ctx.baseDir) : undefined
  return warm ? loadTrained(model, await readTrainArtifact(warm)) : undefined
}

export interface GrpoStepContext {
  model: DecoderModel
  adapter: AdapterState
  /** The reference: the policy training starts from (undefined: the base, the adapter off). */
  reference: AdapterState | undefined
  o: GrpoOptions
  scoring: GrpoScoring
  prompts: readonly PromptLine[]
  tok: LoadedTokenizer
  seed: number
  batchSize: number
  emitSamples: (step: number, scored: ScoredStep, examples: readonly GrpoExample[]) => void
}

/**
 * One step's micro-batches: numGenerations completions of each of its prompts sampled from the
 * policy (dropout off; the completion keeps its eos, as TRL's completion_mask does), scored by the
 * reward functions, advantages normalised per group, then `batchSize` completions a micro-batch
 * with the reference's token log-probabilities when β > 0.
 */
async function grpoStep(c: GrpoStepContext, step: number, promptIndices: readonly number[]): Promise<GrpoBatch[]> {
  const { o, tok } = c
  const rows = promptIndices.flatMap((i) => Array.from({ length: o.numGenerations }, () => c.prompts[i]!))
  const completions = rows.map((p, j) => {
    const out = generateIds(c.model, c.adapter, p.promptIds, { maxNewTokens: o.maxCompletionLength, temperature: o.temperature, seed: completionSeed(c.seed, step, rows.length, j), eosIds: [tok.eos.id] })
    return out.length < o.maxCompletionLength ? [...out, tok.eos.id] : out // stopped at eos: it is a trained token
  })
  const examples = rows.map(grpoExampleOf)
  const scored = await scoreGrpoStep(c.scoring, completions, examples)
  c.emitSamples(step, scored, examples)
  return grpoBatches(c, rows, completions, scored)
}

/**
 * A step's micro-batches from its completions (each of the prompt of `rows[j]`, its eos kept when
 * sampled) and their scores: `batchSize` completions a micro-batch, each with its advantage, the
 * reference's token log-probabilities when β > 0, the step's metrics on the first.
 */
export function grpoBatches(c: Pick<GrpoStepContext, 'model' | 'reference' | 'o' | 'batchSize'>, rows: readonly Pick<PromptLine, 'promptIds'>[], completions: readonly number[][], scored: Pick<ScoredStep, 'advantages' | 'metrics'>): GrpoBatch[] {
  const { o } = c
  const { advantages: adv, metrics } = scored
  const batches: GrpoBatch[] = []
  for (let start = 0; start < rows.length; start += c.batchSize) {
    const idx = Array.from({ length: Math.min(c.batchSize, rows.length - start) }, (_, k) => start + k)
    const answerRows = idx.map((j): AnswerRow => [Int32Array.from(rows[j]!.promptIds), Int32Array.from(completions[j]!), new Uint8Array(completions[j]!.length).fill(1)])
    const batch = answerRowsBatch(answerRows)
    const grpo: GrpoBatch = { ...batch, completions: idx.length, advantages: idx.map((j) => adv.advantages[j]!), ...(start === 0 ? { metrics } : {}) }
    if (o.beta !== 0) {
      const { positions, targets } = labelledPositions(batch)
      const ref = pickedLogps(c.model, c.reference, batch, positions, targets, {}, o.temperature)
      grpo.ref = ref.dataSync() as Float32Array
      ref.dispose()
    }
    batches.push(grpo)
  }
  return batches
}

/**
 * The grpo stage's train node on tfjs (TRL's GRPOTrainer, one policy update per generation batch):
 * the prompts of the tokenize artifact in the grpo plan's steps, completions sampled and scored
 * online, the GRPO loss (grpo.ts), the method's artifact.
 */
export async function trainGrpo(ctx: NodeContext): Promise<void> {
  const p = nodeParams('train', ctx.node)
  const o = p.objective
  if (o?.kind !== 'grpo') throw new Error('trainGrpo: the train node has no grpo objective')
  const rewards = recipeRewards(ctx, o.rewards)
  const { modelDir, tokenizeDir, tokenizerDir, tok } = await openTrainNode(ctx)
  const prompts = await readPrompts(tokenizeDir)
  const a = p.args
  const plan = grpoPlan(prompts.length, a, o.numGenerations)
  const { model, resume, adapter, artifact } = await startTraining(ctx, { p, modelDir, tokenizeDir, vocabSize: tok.vocabSize })
  const settings: TrainSettings = {
    learningRate: a.learningRate, lrScheduler: a.lrScheduler, warmupSteps: warmupStepsOf(a, plan.totalSteps), maxGradNorm: a.maxGradNorm,
    optimizer: optimizerSettings(a, p.method),
    seed: a.seed, gradientCheckpointing: p.model.gradientCheckpointing, logEvery: a.logEvery, evalEvery: 'never', saveEvery: a.saveEvery,
  }
  const emitSamples: GrpoStepContext['emitSamples'] = (step, scored, examples) => {
    for (const event of grpoSampleEvents(ctx.node.id, step, a.logEvery, examples, scored.texts, scored.advantages.rewards)) ctx.emit(event)
  }
  const reference = o.beta !== 0 ? await referenceOf(ctx, p, model) : undefined
  const scoring: GrpoScoring = { rewards, rewardWeights: o.rewardWeights, numGenerations: o.numGenerations, scaleRewards: o.scaleRewards, eosId: tok.eos.id, decode: (ids) => tok.decode(ids) }
  const stepContext: GrpoStepContext = { model, adapter, reference, o, scoring, prompts, tok, seed: a.seed, batchSize: a.batchSize, emitSamples }
  const source: StepSource<GrpoBatch> = {
    totalSteps: plan.totalSteps,
    stepsPerEpoch: plan.stepsPerEpoch,
    microBatches: (step) => grpoStep(stepContext, step, plan.prompts[step]!),
    microBatchIndex: (step) => step * a.gradientAccumulationSteps,
  }
  try {
    const result = await trainLoop({
      model, adapter, source, objective: grpoObjective(model, adapter, o), settings,
      ...(resume ? { resume: { trainerState: resume.trainerState, optimizer: resume.optimizer } } : {}),
      checkpoint: checkpointWriter(ctx.workDir, artifact, a.keepCheckpoints),
      emit: ctx.emit, signal: ctx.signal, node: ctx.node.id, recipeKey: ctx.node.key,
    })
    if (result.interrupted) return
    await writeTrainOutputs({ outDir: ctx.outDir, artifact, adapter, lastCheckpoint: result.lastCheckpoint!, tokenizerDir, tokenizeDir })
  } finally {
    if (reference) disposeAdapter(reference)
    disposeAdapter(adapter)
    disposeModel(model)
  }
}
