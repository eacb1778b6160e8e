// What the TRL parity tests share (dpo.test.ts, orpo.test.ts, kto.test.ts): the tiny model and pairs, the
// initial adapter every run starts from, the TRL process, and the per-step comparisons.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { expect } from 'vitest'
import { defineRecipe, inline, mulberry32, resolveModelDir, type dpoStageSchema, type orpoStageSchema, type Recipe, type rmStageSchema, type RunEvent, type simpoStageSchema } from '@tunekit/core'
import type { z } from 'zod'
import { readPreferenceShards } from '@tunekit/data'
import { initialAdapter, loraSpecFromRecipe, readModelConfig, writeAdapter } from '@tunekit/hf'
import { createTfjsBackend } from '@tunekit/tfjs'
import { createTorchBackend } from '@tunekit/torch'
import { tinyTokenizer } from '../data/helpers.ts'
import { trlPython } from '../python.ts'
import { python, runRecipe, tempDir, type Run } from '../torch/helpers.ts'

/** A random Mistral-shaped model: hidden 64, 2 layers, the 322-token test tokenizer. */
export const tinyModel = {
  id: 'tunekit/tiny-mistral', family: 'mistral', dtype: 'float32',
  random: { seed: 1, tokenizer: tinyTokenizer, config: { vocab_size: 320, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256 } },
} as const

const words = ['hot', 'up', 'big', 'wet', 'fast', 'old', 'dark', 'loud']
const opposites = ['cold', 'down', 'small', 'dry', 'slow', 'new', 'light', 'quiet']
/** TRL's explicit-prompt records: the right antonym preferred over another word. */
export const records = words.map((w, i) => ({ prompt: `The opposite of ${w} is?`, chosen: opposites[i]!, rejected: words[(i + 3) % words.length]! }))

/** The optimisation both sides run: 3 steps of 4 pairs in order (two epochs' worth of the 8), AdamW at a constant 1e-2, seed 3. */
export const PARITY = { steps: 3, batchSize: 4, learningRate: 1e-2, seed: 3 } as const

type PreferenceStage = z.input<typeof dpoStageSchema> | z.input<typeof orpoStageSchema> | z.input<typeof simpoStageSchema> | z.input<typeof rmStageSchema>

/** The recipe of one parity case: the tiny model, the 8 pairs, LoRA from `init`, PARITY's optimisation, cpu, float32, dropout 0. */
export const parityRecipe = (name: string, stage: PreferenceStage, backend: 'tfjs' | 'torch', init: string, merge = false) =>
  defineRecipe({
    name,
    model: tinyModel,
    stage,
    // alpaca adds no tokens, so nothing but LoRA trains (TRL is handed the adapter alone)
    // every pair trains (TRL is handed all 8): dpo holds none out
    data: { source: inline(records), format: 'openai', template: 'alpaca', maxLength: 64, split: { eval: 0 } },
    lora: { rank: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj'], init },
    args: { batchSize: PARITY.batchSize, maxSteps: PARITY.steps, learningRate: PARITY.learningRate, lrScheduler: 'constant', shuffle: false, logEvery: 1, seed: PARITY.seed, saveEvery: 'never' },
    backend,
    device: 'cpu',
    output: { merge },
  })

/** Runs `script` (in this folder) in TRL's environment with `request` on stdin; resolves with its `result` line. */
export function runTrl<T>(script: string, request: unknown): Promise<T> {
  const child = spawn(trlPython(), [join(import.meta.dirname, script)], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, HF_HUB_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false', TQDM_DISABLE: '1' } })
  const lines: string[] = []
  const stderr: string[] = []
  // Trainer prints its logs on stdout too: the result is the line after the marker
  createInterface({ input: child.stdout }).on('line', (line) => void (line.startsWith('result ') && lines.push(line.slice(7))))
  child.stderr.on('data', (d: Buffer) => stderr.push(d.toString()))
  child.stdin.end(JSON.stringify(request))
  return new Promise<T>((resolve, reject) =>
    child.on('close', (code) => (code === 0 && lines.length === 1 ? resolve(JSON.parse(lines[0]!) as T) : reject(new Error(`TRL exited ${code}:\n${stderr.join('').slice(-4000)}`)))))
}

/** TRL's one process (`script` in this folder, `env` added to its environment) for several requests: each (a line on stdin) answered by a `result` line, in order. */
export function startTrl(script: string, env: Record<string, string> = {}): { ask: <T>(request: unknown) => Promise<T>; close: () => void } {
  const child = spawn(trlPython(), [join(import.meta.dirname, script)], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, HF_HUB_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false', TQDM_DISABLE: '1', ...env } })
  const waiting: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = []
  const stderr: string[] = []
  createInterface({ input: child.stdout }).on('line', (line) => void (line.startsWith('result ') && waiting.shift()?.resolve(JSON.parse(line.slice(7)))))
  child.stderr.on('data', (d: Buffer) => stderr.push(d.toString()))
  child.on('close', (code) => waiting.splice(0).forEach((w) => w.reject(new Error(`TRL exited ${code}:\n${stderr.join('').slice(-4000)}`))))
  return {
    ask: <T,>(request: unknown) => new Promise<T>((resolve, reject) => {
      waiting.push({ resolve: (v) => resolve(v as T), reject })
      child.stdin.write(`${JSON.stringify(request)}\n`)
    }),
    close: () => void child.stdin.end(),
  }
}

/**
 * The recipe's LoRA adapter as tunekit draws it (A from the seed; `saved` modules as the stage adds
 * them, the rm stage's head drawn), with B drawn too: U(−0.05, 0.05) from `bSeed`, so the policy starts away from the base.
 */
export async function writeStartAdapter(dir: string, recipe: Recipe, modelDir: string, saved: readonly string[] = [], bSeed = 7): Promise<void> {
  const { family, config } = await readModelConfig(modelDir)
  const { lora } = recipe
  const spec = loraSpecFromRecipe({ ...lora, modulesToSave: [...lora.modulesToSave, ...saved], targetModules: [...lora.targetModules], trainableTokens: false }, family)
  const tensors = await initialAdapter({ family, config, lora: spec, seed: 3 })
  const next = mulberry32(bSeed)
  for (const [name, t] of tensors) if (name.includes('lora_B')) t.data.forEach((_, i) => (t.data[i] = (next() - 0.5) * 0.1))
  await writeAdapter(dir, { tensors, loraConfig: spec, family, baseModel: modelDir })
}

/** What TRL is given: the random model, its tokenizer, the start adapter and the pairs as token ids and label masks. */
export interface ParityInputs {
  model: string
  tokenizer: string
  adapter: string
  /** The shards' pad id (the rm stage reads each reward at the last token that is not it). */
  padId: number
  pairs: { prompt: number[]; chosen: number[]; rejected: number[]; chosenLabels: number[]; rejectedLabels: number[] }[]
}

/**
 * The data nodes once (TypeScript only, into `cacheDir`) and the start adapter every run's
 * `lora.init` names: `recipe` is any case's recipe with `lora.init: 'default'`.
 */
export async function parityInputs(recipe: Recipe, cacheDir: string, saved: readonly string[] = []): Promise<ParityInputs> {
  const data = await runRecipe(recipe, createTorchBackend({ python }), { cacheDir, until: 'tokenize' })
  const model = await resolveModelDir(data.artifact('model'))
  const adapter = join(tempDir('trl-adapter'), 'adapter')
  await writeStartAdapter(adapter, recipe, model, saved)
  const { pairs, padId } = await readPreferenceShards(data.artifact('tokenize'))
  return {
    model, tokenizer: join(data.artifact('tokenize'), 'tokenizer'), adapter, padId,
    pairs: pairs.map((p) => ({ prompt: [...p.promptIds], chosen: [...p.chosenIds], rejected: [...p.rejectedIds], chosenLabels: [...p.chosenLabels], rejectedLabels: [...p.rejectedLabels] })),
  }
}

/** Every case on torch (the workers in parallel) and on tfjs (in process, one after another), sharing `cacheDir`. */
export async function runBackends<C>(cases: readonly C[], recipe: (c: C, backend: 'tfjs' | 'torch') => Recipe, cacheDir: string): Promise<{ torch: Run[]; tfjs: Run[] }> {
  const torch = Promise.all(cases.map((c) => runRecipe(recipe(c, 'torch'), createTorchBackend({ python }), { cacheDir })))
  const tfjs: Run[] = []
  for (const c of cases) tfjs.push(await runRecipe(recipe(c, 'tfjs'), createTfjsBackend({ device: 'cpu' }), { cacheDir }))
  return { torch: await torch, tfjs }
}

/** Per-step loss and metrics, as a run's step events carry them or as TRL recorded them. */
export interface StepValues { loss: number[]; metrics: Record<string, number[]> }

export const stepsOf = (run: Run) => run.events.filter((e): e is Extract<RunEvent, { type: 'step' }> => e.type === 'step')
export const maxAbs = (a: readonly number[], b: readonly number[]): number => Math.max(...a.map((x, i) => Math.abs(x - b[i]!)))
export const valuesOf = (run: Run, metrics: readonly string[]): StepValues => ({ loss: stepsOf(run).map((s) => s.loss), metrics: Object.fromEntries(metrics.map((m) => [m, stepsOf(run).map((s) => s.metrics![m]!)])) })

/** max |Δ| over the per-step loss and each of `metrics`, between a run and a reference, over `steps` steps. */
export function deltas(run: Run, reference: StepValues, metrics: readonly string[], steps: number): Record<string, number> {
  const ours = valuesOf(run, metrics)
  expect(ours.loss.length).toBe(steps)
  return Object.fromEntries([['loss', maxAbs(ours.loss, reference.loss)], ...metrics.map((m) => [m, maxAbs(ours.metrics[m]!, reference.metrics[m]!)])])
}
