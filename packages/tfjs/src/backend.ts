import { completeGenerateRequest, fail, findInputOfKind, inputOfKind, nodeParams, resolveModelDir, type Backend, type BackendCapabilities, type NodeContext, type NodeExecutor } from '@tunekit/core'
import { chatTemplate, loadTokenizer, readShards, renderChat, type BatchPlan } from '@tunekit/data'
import { readTrainArtifact, storedFloatDtype } from '@tunekit/hf'
import { readFile, writeFile } from 'node:fs/promises'
import { totalmem } from 'node:os'
import { join } from 'node:path'
import { selectEngine, type DeviceRequest } from './engine.ts'
import { encodePrompt, generateText, loadForGeneration, type GenerationModel } from './generate-text.ts'
import { evalExecutor } from './eval-node.ts'
import { rewardsOf } from './rewards.ts'
import { scoreExecutor } from './score-node.ts'
import { refLogprobsExecutor, trainPreference } from './objectives/dpo-nodes.ts'
import { trainGrpo } from './objectives/grpo-nodes.ts'
import { trainPpo } from './objectives/ppo-nodes.ts'
import { qaEvalExecutor } from './qa-eval-node.ts'
import { qaTrainExecutor } from './qa-train-node.ts'
import { mergeArtifact } from './methods/index.ts'
import { disposeAdapter, trainableCount } from './methods/state.ts'
import { disposeModel, modelBytes } from './model/load.ts'
import { checkpointWriter } from './train/checkpoint.ts'
import { writeTrainOutputs } from './train/outputs.ts'
import { trainLoop, type TrainSettings } from './train/loop.ts'
import { optimizerSettings } from './train/optimizer.ts'
import { planSource } from './train/plan-source.ts'
import { warmupStepsOf } from './train/schedule.ts'
import { openTrainNode, startTraining } from './train/start.ts'


const train: NodeExecutor = async (ctx: NodeContext) => {
  const p = nodeParams('train', ctx.node)
  // a preference stage (dpo) trains pairs against the ref-logprobs node's reference
  if (p.objective?.kind === 'grpo') return trainGrpo(ctx)
  if (p.objective?.kind === 'ppo') return trainPpo(ctx)
  if (p.objective) return trainPreference(ctx)
  const { modelDir, tokenizeDir, tokenizerDir, tok } = await openTrainNode(ctx)
  const plan = JSON.parse(await readFile(join(inputOfKind(ctx, 'collate'), 'plan.json'), 'utf8')) as BatchPlan
  const split = inputOfKind(ctx, 'split')
  const [trainShards, evalShards] = await Promise.all([readShards(join(split, 'train')), readShards(join(split, 'eval'))])
  const a = p.args
  if (a.optimizer !== 'sgd' && a.optimizer !== 'adamw_torch' && a.optimizer !== 'adamw') {
    ctx.emit({ type: 'log', node: ctx.node.id, level: 'warn', message: `optimizer ${a.optimizer}: tfjs keeps float32 AdamW moments (no paging or 8-bit states)` })
  }
  const { model, resume, adapter, artifact } = await startTraining(ctx, { p, modelDir, tokenizeDir, vocabSize: tok.vocabSize })
  // Either backend's checkpoint resumes (same adapter and optimizer layout); only tfjs's replays the same dropout masks.
  if (resume && resume.trainerState.backend !== 'tfjs') {
    ctx.emit({ type: 'log', node: ctx.node.id, level: 'warn', message: `resuming a ${resume.trainerState.backend} checkpoint: dropout masks from here on differ from an uninterrupted run` })
  }
  const bytes = modelBytes(model)
  ctx.emit({
    type: 'log', node: ctx.node.id, level: 'info',
    message: `${trainableCount(adapter)} trainable parameters; base weights hold ${bytes.tensorBytes} float32 bytes + ${bytes.quantizedBytes} packed bytes${resume ? `; resuming at step ${resume.step}` : ''}`,
  })
  const settings: TrainSettings = {
    learningRate: a.learningRate, lrScheduler: a.lrScheduler, warmupSteps: warmupStepsOf(a, plan.totalSteps), maxGradNorm: a.maxGradNorm,
    optimizer: optimizerSettings(a, p.method),
    seed: a.seed, gradientCheckpointing: p.model.gradientCheckpointing, logEvery: a.logEvery, evalEvery: a.evalEvery, saveEvery: a.saveEvery,
  }
  try {
    const result = await trainLoop({
      model, adapter, source: planSource(plan, trainShards, evalShards), settings,
      ...(resume ? { resume: { trainerState: resume.trainerState, optimizer: resume.optimizer } } : {}),
      checkpoint: checkpointWriter(ctx.workDir, artifact, a.keepCheckpoints),
      emit: ctx.emit, signal: ctx.signal, node: ctx.node.id, recipeKey: ctx.node.key, hostBytes: bytes.quantizedBytes,
    })
    if (result.interrupted) return
    await writeTrainOutputs({ outDir: ctx.outDir, artifact, adapter, lastCheckpoint: result.lastCheckpoint!, tokenizerDir, tokenizeDir })
  } finally {
    disposeAdapter(adapter)
    disposeModel(model)
  }
}

const merge: NodeExecutor = async (ctx) => {
  const p = nodeParams('merge', ctx.node)
  const tokenizeDir = inputOfKind(ctx, 'tokenize')
  const tokenizerDir = join(tokenizeDir, 'tokenizer')
  const tok = await loadTokenizer(tokenizerDir)
  const artifact = await readTrainArtifact(inputOfKind(ctx, 'train'))
  // Raw-text (pretrain) models have no chat template.
  const template = await readFile(join(tokenizeDir, 'chat_template.jinja'), 'utf8').catch(() => undefined)
  await selectEngine('auto')
  const baseDir = await resolveModelDir(inputOfKind(ctx, 'model'))
  ctx.emit({ type: 'log', node: ctx.node.id, level: 'info', message: `merging in float32; weights stored as ${storedFloatDtype(baseDir)}, the base's dtype` })
  await mergeArtifact({
    baseDir, artifact, outDir: ctx.outDir, maxShardSize: p.maxShardSize,
    tokenizerDir, vocabSize: tok.vocabSize, ...(template !== undefined ? { chatTemplate: template } : {}),
  })
}

const generate: NodeExecutor = async (ctx) => {
  const p = nodeParams('generate', ctx.node)
  const merged = findInputOfKind(ctx, 'merge')
  const tokenizeDir = inputOfKind(ctx, 'tokenize')
  const tokenizerDir = join(tokenizeDir, 'tokenizer')
  const loaded = await loadForGeneration(merged ?? (await resolveModelDir(inputOfKind(ctx, 'model'))), merged ? undefined : inputOfKind(ctx, 'train'), tokenizerDir)
  // A raw-text (pretrain) model continues the prompt as it is: there is no chat template.
  const jinja = await readFile(join(tokenizeDir, 'chat_template.jinja'), 'utf8').catch(() => undefined)
  const template = jinja === undefined ? undefined : chatTemplate({ jinja }, { bosToken: loaded.tokenizer.bos?.token ?? '', eosToken: loaded.tokenizer.eos.token })
  const lines: string[] = []
  for (const prompt of p.samples) {
    const text = template ? renderChat(template, [{ role: 'user', content: prompt }], true) : prompt
    const completion = generateText(loaded, encodePrompt(loaded.tokenizer, text), { maxNewTokens: p.maxNewTokens })
    ctx.emit({ type: 'sample', node: ctx.node.id, prompt, completion })
    lines.push(JSON.stringify({ prompt, completion }))
  }
  await writeFile(join(ctx.outDir, 'samples.jsonl'), lines.map((l) => `${l}\n`).join(''))
}

/** The in-process TensorFlow.js backend: train, eval, merge and generate nodes, and `tunekit chat`'s generation. */
export function createTfjsBackend(opts: { device?: DeviceRequest } = {}): Backend {
  const loaded = new Map<string, GenerationModel>()
  return {
    name: 'tfjs',
    capabilities: async (): Promise<BackendCapabilities> => {
      const e = await selectEngine(opts.device ?? 'auto')
      // wasm32 addresses at most 4 GiB, whatever the machine has.
      const memoryBytes = e.device === 'wasm' ? Math.min(totalmem(), 2 ** 32) : totalmem()
      return { engine: e.engine, device: e.device, reason: e.reason, dtypes: ['float32'], quantize: ['nf4', 'int8'], memoryBytes }
    },
    executors: { train, 'ref-logprobs': refLogprobsExecutor, merge, generate, eval: evalExecutor, score: scoreExecutor, 'qa-train': qaTrainExecutor, 'qa-eval': qaEvalExecutor },
    generate: async (asked, onToken) => {
      // images need a vision-language model: transformers' classes in the torch worker
      if (asked.images?.length) fail('VisionNeedsTorch', { path: 'backend', value: 'tfjs' }, 'a model with images', 'tfjs')
      const request = completeGenerateRequest(asked)
      await selectEngine(opts.device ?? 'auto')
      const key = `${request.model}\0${request.adapter ?? ''}`
      let model = loaded.get(key)
      if (!model) {
        model = await loadForGeneration(request.model, request.adapter, request.adapter ? join(request.adapter, 'tokenizer') : request.model)
        loaded.set(key, model)
      }
      return generateText(model, encodePrompt(model.tokenizer, request.prompt), {
        maxNewTokens: request.maxNewTokens, temperature: request.temperature,
        ...(request.topK !== undefined ? { topK: request.topK } : {}), ...(request.topP !== undefined ? { topP: request.topP } : {}), seed: request.seed,
      }, onToken)
    },
    rewards: async (request) => {
      await selectEngine(opts.device ?? 'auto')
      return rewardsOf(request)
    },
    dispose: async () => {
      for (const m of loaded.values()) m.dispose()
      loaded.clear()
    },
  }
}
