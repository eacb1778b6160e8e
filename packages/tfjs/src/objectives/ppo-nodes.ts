import { join } from 'node:path'
import { nodeParams, ppoAdvantages, ppoRolloutMetrics, rewardModelDir, type NodeContext, type PpoAdvantages } from '@tunekit/core'
import { completionSeed, grpoPlan, permutation, readPrompts, type PromptLine } from '@tunekit/data'
import { readTrainArtifact, writeSafetensors } from '@tunekit/hf'
import { tf, type Var2D } from '../engine.ts'
import { generateIds } from '../generate.ts'
import { loadTrained } from '../methods/index.ts'
import { disposeAdapter, type AdapterState } from '../methods/state.ts'
import { forwardHidden, headLogits } from '../model/decoder.ts'
import { disposeModel } from '../model/load.ts'
import { gatherRows } from '../model/ops.ts'
import { lastTokenPositions, scoreRewards, scoreWeight } from '../model/score-head.ts'
import type { DecoderModel } from '../model/types.ts'
import { checkpointWriter } from '../train/checkpoint.ts'
import { trainLoop, type StepSource, type TrainSettings } from '../train/loop.ts'
import { optimizerSettings } from '../train/optimizer.ts'
import { writeTrainOutputs } from '../train/outputs.ts'
import { warmupStepsOf } from '../train/schedule.ts'
import { openTrainNode, startTraining } from '../train/start.ts'
import { referenceOf } from './grpo-nodes.ts'
import { ppoBatch, ppoObjective, type PpoBatch, type PpoOptions, type PpoRow } from './ppo.ts'

/** The value head's file in the train artifact (LLaMA-Factory's name) and its tensor (Linear(hidden, 1, bias=False), as TRL's value model's `score`). */
export const VALUE_HEAD_FILE = 'value_head.safetensors'
export const VALUE_HEAD_KEY = 'v_head.summary.weight'

/** What the rollout reads each completion with: the policy and its value head, the reference (undefined: the adapter off) and the reward model. */
export interface PpoModels {
  model: DecoderModel
  policy: AdapterState
  reference: AdapterState | undefined
  reward: AdapterState
  valueHead: Var2D
}

/** A rollout micro-batch's rows: prompt ++ completion, right-padded. */
const rolloutBatch = (rows: readonly RolloutRow[]): PpoBatch => ppoBatch(rows.map((r) => ({ ...r, logprobs: [], advantages: [], returns: [], values: [] })))

type RolloutRow = { promptIds: readonly number[]; completion: readonly number[] }

/** The reward model's score of each row [rows]: its `score` head at the row's last real token (the completion's eos, or its last token when cut). */
export function rewardScores(model: DecoderModel, reward: AdapterState, rows: readonly RolloutRow[], padId: number): number[] {
  const batch = rolloutBatch(rows)
  return [...tf.tidy(() => scoreRewards(forwardHidden(model, reward, batch), lastTokenPositions(batch, padId), scoreWeight(model, reward)).dataSync() as Float32Array)]
}

/** log π_old and log π_ref [L] of each row's completion tokens (logits ÷ (temperature + 1e-7)) and the values [min(L + 1, W)] of the policy's value head. */
export function rolloutPass(m: Omit<PpoModels, 'reward'>, rows: readonly RolloutRow[], width: number, o: PpoOptions) {
  const batch = rolloutBatch(rows)
  const logit: number[] = []
  const targets: number[] = []
  const value: number[] = []
  rows.forEach((r, i) => {
    const start = i * batch.seq + r.promptIds.length - 1
    r.completion.forEach((id, t) => { logit.push(start + t); targets.push(id) })
    for (let t = 0; t < Math.min(r.completion.length + 1, width); t++) value.push(start + t)
  })
  const logps = (adapter: AdapterState | undefined, withValues: boolean): { logps: Float32Array; values?: Float32Array } => tf.tidy(() => {
    const hidden = forwardHidden(m.model, adapter, batch)
    const logits = tf.div(headLogits(m.model, adapter, gatherRows(hidden, Int32Array.from(logit))), o.temperature + 1e-7) as tf.Tensor2D
    const onehot = tf.cast(tf.oneHot(tf.tensor1d(targets, 'int32'), logits.shape[1]), 'float32')
    const picked = tf.sub(tf.sum(tf.mul(logits, onehot), 1), tf.squeeze(tf.logSumExp(logits, 1, true), [1]))
    return { logps: picked.dataSync() as Float32Array, ...(withValues ? { values: scoreRewards(hidden, Int32Array.from(value), m.valueHead).dataSync() as Float32Array } : {}) }
  })
  const policy = logps(m.policy, true)
  const reference = logps(m.reference, false)
  const split = (flat: Float32Array, lengths: readonly number[]): number[][] => {
    let at = 0
    return lengths.map((n) => [...flat.subarray(at, (at += n))])
  }
  const lengths = rows.map((r) => r.completion.length)
  return {
    logprobs: split(policy.logps, lengths),
    refLogprobs: split(reference.logps, lengths),
    values: split(policy.values!, lengths.map((n) => Math.min(n + 1, width))),
  }
}

interface Rollout { rows: PpoRow[]; metrics: Record<string, number> }

/**
 * One rollout (TRL's PPOTrainer.train() before its ppo epochs): a completion of each prompt sampled
 * from the policy (dropout off; it ends at eos, kept: TRL's stop_token 'eos'), read by the policy,
 * its value head, the reference and the reward model in micro-batches, then ppoAdvantages.
 */
function rollout(m: PpoModels, o: PpoOptions, prompts: readonly PromptLine[], ids: readonly number[], ctx: { seed: number; index: number; batchSize: number; eosId: number; padId: number }): Rollout {
  const completions = ids.map((i, j) => {
    const out = generateIds(m.model, m.policy, prompts[i]!.promptIds, { maxNewTokens: o.responseLength, temperature: o.temperature, seed: completionSeed(ctx.seed, ctx.index, ids.length, j), eosIds: [ctx.eosId] })
    return out.length < o.responseLength ? [...out, ctx.eosId] : out
  })
  const width = Math.max(...completions.map((c) => c.length))
  const parts = { logprobs: [] as number[][], refLogprobs: [] as number[][], values: [] as number[][], scores: [] as number[] }
  for (let start = 0; start < ids.length; start += ctx.batchSize) {
    const rows = ids.slice(start, start + ctx.batchSize).map((i, k) => ({ promptIds: prompts[i]!.promptIds, completion: completions[start + k]! }))
    const pass = rolloutPass(m, rows, width, o)
    parts.logprobs.push(...pass.logprobs)
    parts.refLogprobs.push(...pass.refLogprobs)
    parts.values.push(...pass.values)
    parts.scores.push(...rewardScores(m.model, m.reward, rows, ctx.padId))
  }
  const hasEos = completions.map((c) => c.includes(ctx.eosId))
  const a: PpoAdvantages = ppoAdvantages(o, { ...parts, hasEos })
  const rows = ids.map((i, j): PpoRow => ({ promptIds: prompts[i]!.promptIds, completion: completions[j]!, logprobs: parts.logprobs[j]!, advantages: a.advantages[j]!, returns: a.returns[j]!, values: a.values[j]! }))
  return { rows, metrics: ppoRolloutMetrics(a, parts.logprobs, hasEos) }
}

/**
 * The ppo stage's train node on tfjs (TRL 0.29.1's PPOTrainer): rollouts of `batchSize ×
 * gradientAccumulationSteps × numMiniBatches` prompts (the grpo plan's steps, one completion
 * each), then numPpoEpochs passes, each a seeded permutation split into numMiniBatches optimizer
 * steps of gradientAccumulationSteps micro-batches; the policy adapter in the method's layout and
 * the value head beside it (`value_head.safetensors`).
 */
export async function trainPpo(ctx: NodeContext): Promise<void> {
  const p = nodeParams('train', ctx.node)
  const o = p.objective
  if (o?.kind !== 'ppo') throw new Error('trainPpo: the train node has no ppo objective')
  const { modelDir, tokenizeDir, tokenizerDir, tok } = await openTrainNode(ctx)
  const prompts = await readPrompts(tokenizeDir)
  const a = p.args
  const plan = grpoPlan(prompts.length, { ...a, gradientAccumulationSteps: a.gradientAccumulationSteps * o.numMiniBatches }, 1)
  const perRollout = o.numPpoEpochs * o.numMiniBatches
  const totalSteps = plan.totalSteps * perRollout
  const { model, resume, adapter, artifact } = await startTraining(ctx, { p, modelDir, tokenizeDir, vocabSize: tok.vocabSize })
  if (resume) ctx.emit({ type: 'log', node: ctx.node.id, level: 'warn', message: 'ppo: a checkpoint of this node was found; the ppo stage does not resume yet, so it trains from the start' })
  const reward = loadTrained(model, await readTrainArtifact(rewardModelDir(ctx, o.rewardModel)))
  const reference = await referenceOf(ctx, p, model)
  // TRL's value model starts as the reward model (its examples load both from the rm's path): the head starts as its score head
  const valueHead = tf.variable(tf.clone(scoreWeight(model, reward)), true, VALUE_HEAD_KEY) as Var2D
  const models: PpoModels = { model, policy: adapter, reference, reward, valueHead }
  const trained: AdapterState = { ...adapter, entries: [...adapter.entries, [VALUE_HEAD_KEY, valueHead]] }
  const settings: TrainSettings = {
    learningRate: a.learningRate, lrScheduler: a.lrScheduler, warmupSteps: warmupStepsOf(a, totalSteps), maxGradNorm: a.maxGradNorm,
    optimizer: optimizerSettings(a, p.method),
    seed: a.seed, gradientCheckpointing: p.model.gradientCheckpointing, logEvery: a.logEvery, evalEvery: 'never', saveEvery: 'never',
  }
  let current: { index: number; data: Rollout } | undefined
  const microBatches = (step: number): PpoBatch[] => {
    const index = Math.floor(step / perRollout)
    if (current?.index !== index) {
      current = { index, data: rollout(models, o, prompts, plan.prompts[index]!, { seed: a.seed, index, batchSize: a.batchSize, eosId: tok.eos.id, padId: tok.pad.id }) }
      const first = current.data.rows[0]
      if (first) ctx.emit({ type: 'sample', node: ctx.node.id, prompt: prompts[plan.prompts[index]![0]!]!.messages.at(-1)?.content ?? '', completion: tok.decode(first.completion.filter((t) => t !== tok.eos.id)) })
    }
    const { rows, metrics } = current.data
    const epoch = Math.floor((step % perRollout) / o.numMiniBatches)
    const mini = step % o.numMiniBatches
    const size = Math.ceil(rows.length / o.numMiniBatches)
    const order = permutation(rows.length, a.seed + index * o.numPpoEpochs + epoch).slice(mini * size, (mini + 1) * size) // TRL's b_inds
    const out: PpoBatch[] = []
    for (let s = 0; s < order.length; s += a.batchSize) out.push(ppoBatch(order.slice(s, s + a.batchSize).map((i) => rows[i]!), s === 0 ? metrics : undefined))
    return out
  }
  const source: StepSource<PpoBatch> = { totalSteps, stepsPerEpoch: plan.stepsPerEpoch * perRollout, microBatches, microBatchIndex: (step) => step * a.gradientAccumulationSteps }
  try {
    const result = await trainLoop({
      model, adapter: trained, source, objective: ppoObjective(model, adapter, valueHead, o), settings,
      checkpoint: checkpointWriter(ctx.workDir, artifact, a.keepCheckpoints),
      emit: ctx.emit, signal: ctx.signal, node: ctx.node.id, recipeKey: ctx.node.key,
    })
    if (result.interrupted) return
    await writeTrainOutputs({ outDir: ctx.outDir, artifact, adapter, lastCheckpoint: result.lastCheckpoint!, tokenizerDir, tokenizeDir })
    await writeSafetensors(join(ctx.outDir, VALUE_HEAD_FILE), [[VALUE_HEAD_KEY, { shape: [...valueHead.shape], data: valueHead.dataSync() as Float32Array }]])
  } finally {
    valueHead.dispose()
    if (reference) disposeAdapter(reference)
    disposeAdapter(reward)
    disposeAdapter(adapter)
    disposeModel(model)
  }
}
