// What the TRL parity tests of the preference stages share (dpo.test.ts, rm.test.ts): the tiny
// model and pairs, the recipe around a stage, the start adapter with B drawn non-zero, TRL's
// reference process and the step events' figures.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { expect } from 'vitest'
import { defineRecipe, inline, mulberry32, type Recipe, type RunEvent, type StageOptions } from '@tunekit/core'
import { initialAdapter, loraSpecFromRecipe, readModelConfig, writeAdapter } from '@tunekit/hf'
import { tinyTokenizer } from '../data/helpers.ts'
import { trlPython } from '../python.ts'
import type { Run } from '../torch/helpers.ts'

/** Optimiser steps of every parity run. */
export const STEPS = 3

const words = ['hot', 'up', 'big', 'wet', 'fast', 'old', 'dark', 'loud']
const opposites = ['cold', 'down', 'small', 'dry', 'slow', 'new', 'light', 'quiet']
/** TRL's explicit-prompt records: the right antonym preferred over another word. */
export const antonymRecords = words.map((w, i) => ({ prompt: `The opposite of ${w} is?`, chosen: opposites[i]!, rejected: words[(i + 3) % words.length]! }))

/**
 * The parity recipe around `stage`: a tiny random Mistral (hidden 64, 2 layers, the 322-token test
 * tokenizer), float32 on cpu, LoRA r 4 on q/v from `init`, 8 pairs 4 a step in order, dropout 0.
 */
export const pairRecipe = (o: { name: string; stage: StageOptions; backend: 'tfjs' | 'torch'; init: string; merge?: boolean }) =>
  defineRecipe({
    name: o.name,
    model: {
      id: 'tunekit/tiny-mistral', family: 'mistral', dtype: 'float32',
      random: { seed: 1, tokenizer: tinyTokenizer, config: { vocab_size: 320, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256 } },
    },
    stage: o.stage,
    // alpaca adds no tokens, so nothing but LoRA (and the rm stage's head) trains: TRL is handed the adapter alone
    data: { source: inline(antonymRecords), format: 'openai', template: 'alpaca', maxLength: 64 },
    lora: { rank: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj'], init: o.init },
    args: { batchSize: 4, maxSteps: STEPS, learningRate: 1e-2, lrScheduler: 'constant', shuffle: false, logEvery: 1, seed: 3, saveEvery: 'never' },
    backend: o.backend,
    device: 'cpu',
    output: { merge: o.merge ?? false },
  })

/**
 * The recipe's LoRA adapter as tunekit draws it (A from the seed; `saved` modules as the stage adds
 * them, the rm head drawn), with B drawn too: U(−0.05, 0.05), so the policy starts away from the base.
 */
export async function writeStartAdapter(dir: string, recipe: Recipe, modelDir: string, saved: readonly string[] = []): Promise<void> {
  const { family, config } = await readModelConfig(modelDir)
  const { lora } = recipe
  const spec = loraSpecFromRecipe({ ...lora, modulesToSave: [...lora.modulesToSave, ...saved], targetModules: [...lora.targetModules], trainableTokens: false }, family)
  const tensors = await initialAdapter({ family, config, lora: spec, seed: 3 })
  const next = mulberry32(7)
  for (const [name, t] of tensors) if (name.includes('lora_B')) t.data.forEach((_, i) => (t.data[i] = (next() - 0.5) * 0.1))
  await writeAdapter(dir, { tensors, loraConfig: spec, family, baseModel: modelDir })
}

/** TRL's one process (`script` in this folder): each request (a line on stdin) answered by a `result` line, in order. */
export function startTrl(script: string): { ask: <T>(request: unknown) => Promise<T>; close: () => void } {
  const child = spawn(trlPython(), [join(import.meta.dirname, script)], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, HF_HUB_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false', TQDM_DISABLE: '1' } })
  const waiting: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = []
  const stderr: string[] = []
  // Trainer prints its logs on stdout too: a result is the line after the marker
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

export const stepsOf = (run: Run) => run.events.filter((e): e is Extract<RunEvent, { type: 'step' }> => e.type === 'step')
export const maxAbs = (a: readonly number[], b: readonly number[]): number => Math.max(...a.map((x, i) => Math.abs(x - b[i]!)))
/** Per-step loss and the named metrics of a run's step events. */
export const metricsOf = (run: Run, metrics: readonly string[]) => ({ loss: stepsOf(run).map((s) => s.loss), metrics: Object.fromEntries(metrics.map((m) => [m, stepsOf(run).map((s) => s.metrics![m]!)])) })
/** max |Δ| of a run's per-step loss and each metric against a reference's (STEPS steps each). */
export function stepDeltas(run: Run, reference: { loss: number[]; metrics: Record<string, number[]> }, metrics: readonly string[]): Record<string, number> {
  const steps = stepsOf(run)
  expect(steps.length).toBe(STEPS)
  return Object.fromEntries([
    ['loss', maxAbs(steps.map((s) => s.loss), reference.loss)],
    ...metrics.map((m) => [m, maxAbs(steps.map((s) => s.metrics![m]!), reference.metrics[m]!)]),
  ])
}
