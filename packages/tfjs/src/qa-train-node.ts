// The qa stage's train node on tfjs, as transformers' Trainer runs run_qa.py: setup (the encoder,
// full fine-tuning or LoRA with qa_outputs saved, AdamW, the windows, a checkpoint to resume) →
// train (per step: a seeded shuffle's batch → qaTrainStep: loss, clip, AdamW at the scheduled lr;
// log, checkpoint) → save (LoRA merged into the weights: W' = W + (alpha / rank) · B @ A; the
// folder in transformers' layout, BertForQuestionAnswering, which its QA pipeline loads).
import { cp, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { epochOrder, inputOfKind, nodeParams, resolveModelDir, type NodeContext, type NodeExecutor, type QaTrainParams } from '@tunekit/core'
import type { QaFeatureLine } from '@tunekit/data'
import { listCheckpoints, OPTIMIZER_STATE, readSafetensors, TRAINER_STATE, writeCheckpoint, writeTrainArtifact, type FloatTensor, type TrainArtifact, type TrainerState } from '@tunekit/hf'
import { selectEngine, tf } from './engine.ts'
import { loraScale } from './methods/lora-scale.ts'
import { initialEncoderLora } from './methods/encoder-lora-init.ts'
import type { EncoderLoraSpec } from './methods/encoder-lora.ts'
import { loadEncoder } from './model/encoder-load.ts'
import { saveEncoder } from './model/encoder-save.ts'
import type { EncoderModel } from './model/encoder.ts'
import { qaBatch } from './objectives/qa-batch.ts'
import { fullQaTrainer, loraQaTrainer, qaTrainStep, type QaTrainer } from './objectives/qa-step.ts'
import { optimizerSettings, optimizerTensors, restoreOptimizer, type OptimizerSettings } from './train/optimizer.ts'
import { lrMultiplier, warmupStepsOf } from './train/schedule.ts'

/** LoRA's spec from the recipe: qa_outputs always trains in full (PEFT's question-answering heads are saved modules). */
function loraSpecOf(method: Extract<QaTrainParams['method'], { kind: 'lora' }>): EncoderLoraSpec {
  return { rank: method.rank, alpha: method.alpha, targetModules: method.targetModules, modulesToSave: [...new Set(['qa_outputs', ...method.modulesToSave])], rsLora: method.rsLora }
}

/** What trains, resumed from `resumed` (a checkpoint's tensors by the trainer's names) when given. */
function setupTrainer(model: EncoderModel, p: QaTrainParams, settings: OptimizerSettings, resumed?: ReadonlyMap<string, FloatTensor>): { trainer: QaTrainer; artifact: Omit<TrainArtifact, 'tensors'> } {
  const base = { family: p.model.family, baseModel: p.model.path ?? p.model.id }
  if (p.method.kind === 'lora') {
    const spec = loraSpecOf(p.method)
    const trainer = loraQaTrainer(model, spec, resumed ?? initialEncoderLora(model, spec, p.args.seed), settings)
    const loraSpec = { rank: spec.rank, alpha: spec.alpha, rsLora: spec.rsLora ?? false, targetModules: spec.targetModules, modulesToSave: spec.modulesToSave }
    return { trainer, artifact: { ...base, method: { kind: 'lora', spec: loraSpec } } }
  }
  for (const [name, t] of resumed ?? []) {
    model.weights.get(name)?.dispose()
    model.weights.set(name, tf.tensor(t.data, t.shape))
  }
  return { trainer: fullQaTrainer(model, settings), artifact: { ...base, method: { kind: 'full', config: model.config } } }
}

/** A qa checkpoint read back. */
interface QaCheckpoint {
  trained: Map<string, FloatTensor>
  optimizer: Map<string, FloatTensor>
  trainerState: TrainerState
}

const floats = async (file: string): Promise<Map<string, FloatTensor>> => {
  const out = new Map<string, FloatTensor>()
  for (const [key, t] of (await readSafetensors(file)).tensors) if (t.data instanceof Float32Array) out.set(key, t as FloatTensor)
  return out
}

/**
 * The newest checkpoint of the work folder, in the shared layout (adapter_model.safetensors or
 * model.safetensors, optimizer.safetensors, trainer_state.json). Read directly rather than through
 * readCheckpoint: hf's adapter check knows decoder keys only, and these are the encoder's own.
 */
async function readQaCheckpoint(workDir: string, method: QaTrainParams['method']['kind']): Promise<QaCheckpoint | undefined> {
  const latest = (await listCheckpoints(workDir)).at(-1)
  if (!latest) return undefined
  const trainerState = JSON.parse(await readFile(join(latest.path, TRAINER_STATE), 'utf8')) as TrainerState
  const trained = await floats(join(latest.path, method === 'lora' ? 'adapter_model.safetensors' : 'model.safetensors'))
  return { trained, optimizer: await floats(join(latest.path, OPTIMIZER_STATE)), trainerState }
}

/** The trainer's variables by name, as checkpoint tensors. */
const trainedTensors = (t: QaTrainer): Map<string, FloatTensor> =>
  new Map(t.names.map((name, i) => [name, { shape: [...t.variables[i]!.shape], data: t.variables[i]!.dataSync() as Float32Array }]))

/** Folds LoRA into the base weights (W' = W + scale · B @ A); the saved modules already are the model's weights. */
function mergeLora(t: QaTrainer, scale: number): void {
  const byName = new Map(t.names.map((n, i) => [n, t.variables[i]!]))
  for (const [name, a] of byName) {
    if (!name.endsWith('.lora_A.weight')) continue
    const path = name.slice('base_model.model.'.length, -'.lora_A.weight'.length)
    const b = byName.get(`base_model.model.${path}.lora_B.weight`)!
    const w = t.model.weights.get(`${path}.weight`)!
    t.model.weights.set(`${path}.weight`, tf.tidy(() => tf.add(w, tf.mul(tf.matMul(b, a), scale))))
    w.dispose()
  }
}

export const qaTrainExecutor: NodeExecutor = async (ctx: NodeContext) => {
  const p = nodeParams('qa-train', ctx.node)
  const engine = await selectEngine(p.device)
  ctx.emit({ type: 'log', node: ctx.node.id, level: 'info', message: `tfjs engine: ${engine.engine} (${engine.reason})` })
  const modelDir = await resolveModelDir(inputOfKind(ctx, 'model'))
  const featuresDir = inputOfKind(ctx, 'qa-features')
  const lines = (await readFile(join(featuresDir, 'train', 'features.jsonl'), 'utf8')).split('\n').filter((l) => l !== '')
  const features = lines.map((l) => JSON.parse(l) as QaFeatureLine)
  const tokenizer = JSON.parse(await readFile(join(featuresDir, 'tokenizer', 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } }
  const padId = tokenizer.model.vocab['[PAD]'] ?? 0
  const a = p.args
  // Gradient accumulation of equal micro-batches of a mean loss is one batch of their union (transformers divides each micro-batch's mean by the steps).
  const batchSize = a.batchSize * a.gradientAccumulationSteps
  const stepsPerEpoch = Math.ceil(features.length / batchSize)
  const totalSteps = a.maxSteps ?? stepsPerEpoch * a.epochs
  const warmup = warmupStepsOf(a, totalSteps)
  const settings = optimizerSettings(a, p.method)
  const warn = (message: string) => ctx.emit({ type: 'log', node: ctx.node.id, level: 'warn', message })
  if (a.optimizer !== 'sgd' && a.optimizer !== 'adamw' && a.optimizer !== 'adamw_torch') warn(`optimizer ${a.optimizer}: tfjs keeps float32 AdamW moments (no paging or 8-bit states)`)
  if (p.method.kind === 'lora' && p.method.dropout > 0) warn(`lora.dropout ${p.method.dropout}: the tfjs QA step runs without dropout (as the parity tests with PEFT do)`)
  const latest = await readQaCheckpoint(ctx.workDir, p.method.kind)
  const resume = latest && latest.trainerState.recipeKey === ctx.node.key ? latest : undefined
  const model = await loadEncoder(modelDir, { headSeed: p.args.seed })
  const { trainer, artifact } = setupTrainer(model, p, settings, resume?.trained)
  let step = resume?.trainerState.step ?? 0
  if (resume) restoreOptimizer(trainer.optimizer, trainer.names, resume.optimizer, step)
  const losses = [...(resume?.trainerState.lossHistory ?? [])]
  ctx.emit({ type: 'log', node: ctx.node.id, level: 'info', message: `${trainer.variables.reduce((n, v) => n + v.size, 0)} trainable parameters (${p.method.kind}); ${features.length} windows, ${stepsPerEpoch} steps/epoch, ${totalSteps} steps${resume ? `; resuming at step ${step}` : ''}` })
  const save = async (): Promise<string> => {
    const trainerState: TrainerState = {
      step, epoch: step / stepsPerEpoch, microBatch: step, rng: { seed: a.seed, scheme: 'tfjs-qa-v1: epoch order seed * 1000003 + epoch' },
      recipeKey: ctx.node.key, lossHistory: [...losses], evalHistory: [], backend: 'tfjs',
    }
    const path = await writeCheckpoint(ctx.workDir, step, { adapter: { ...artifact, tensors: trainedTensors(trainer) }, optimizer: optimizerTensors(trainer.optimizer, trainer.names), trainerState }, { keep: a.keepCheckpoints })
    ctx.emit({ type: 'checkpoint', node: ctx.node.id, step, path })
    return path
  }
  try {
    let last: string | undefined
    while (step < totalSteps) {
      await new Promise<void>((resolve) => setImmediate(resolve)) // let Ctrl-C (abort) in between steps
      if (ctx.signal?.aborted) return void (await save())
      const epoch = Math.floor(step / stepsPerEpoch)
      const within = step % stepsPerEpoch
      const order = epochOrder(features.length, a.seed, epoch, a.shuffle)
      const rows = order.slice(within * batchSize, (within + 1) * batchSize).map((i) => features[i]!)
      const lr = a.learningRate * lrMultiplier(a.lrScheduler, step, warmup, totalSteps)
      const stepStart = performance.now()
      const { loss, gradNorm } = qaTrainStep(trainer, qaBatch(rows, padId), lr, a.maxGradNorm)
      const tokens = rows.reduce((n, r) => n + r.ids.length, 0) // real (unpadded) tokens of the batch
      step++
      losses.push(loss)
      if (step === 1 || step % a.logEvery === 0 || step === totalSteps) {
        ctx.emit({ type: 'step', node: ctx.node.id, step, totalSteps, epoch: step / stepsPerEpoch, loss, learningRate: lr, gradNorm, tokensPerSecond: tokens / ((performance.now() - stepStart) / 1000), memoryBytes: tf.memory().numBytes })
      }
      const due = a.saveEvery === 'never' ? false : a.saveEvery === 'epoch' ? step % stepsPerEpoch === 0 : step % a.saveEvery === 0
      if (due && step < totalSteps) last = await save()
    }
    last = await save()
    if (p.method.kind === 'lora') {
      // The adapter as PEFT's layout (adapter/), then the merged model at the top of the folder.
      await writeTrainArtifact(join(ctx.outDir, 'adapter'), { ...artifact, tensors: trainedTensors(trainer) })
      mergeLora(trainer, loraScale({ alpha: p.method.alpha, rank: p.method.rank, rsLora: p.method.rsLora }))
    }
    await saveEncoder(ctx.outDir, trainer.model, join(featuresDir, 'tokenizer'))
    await cp(join(last, 'trainer_state.json'), join(ctx.outDir, 'trainer_state.json'))
  } finally {
    tf.dispose([...trainer.variables, ...trainer.model.weights.values()])
  }
}
