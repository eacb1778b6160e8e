import { fileURLToPath } from 'node:url'
import { knownCheckpoints, type ModelConfig } from '@tunekit/core'
import { createRandomModel, initialAdapter, type FloatTensor, type LoraSpec } from '@tunekit/hf'
import { execFileSync } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { selectEngine } from '../../packages/tfjs/src/engine.ts'
import { createAdapter } from '../../packages/tfjs/src/methods/lora.ts'
import type { AdapterState } from '../../packages/tfjs/src/methods/state.ts'
import type { DecoderModel } from '../../packages/tfjs/src/model/types.ts'
import { sequenceBatch, type TrainBatch } from '../../packages/tfjs/src/train/batch.ts'
import { workerPython } from '../python.ts'

/** wasm is ~30x faster than the pure-JS cpu engine for these matmuls. */
export const useEngine = () => selectEngine('wasm')

export const tmp = (): Promise<string> => mkdtemp(join(tmpdir(), 'tk-tfjs-'))

/** The decoder families the tfjs tests build tiny random models of. */
export type TinyFamily = 'llama' | 'mistral' | 'qwen2' | 'qwen3' | 'gemma' | 'gemma2' | 'phi3' | 'mixtral'

/** A tiny config of a registry family: 2 layers, hidden 64, 4 heads over 2 kv heads. */
export function tinyConfig(family: TinyFamily, overrides: Partial<ModelConfig> = {}): ModelConfig {
  const base = knownCheckpoints['tunekit/tiny-mistral']!.config
  return {
    ...base,
    modelType: family,
    vocabSize: 96,
    slidingWindow: family === 'mistral' ? 6 : null,
    attentionBias: family === 'qwen2',
    tieWordEmbeddings: family === 'qwen2',
    ropeTheta: family === 'qwen2' || family === 'qwen3' ? 1_000_000 : 10_000,
    ...(family === 'qwen3' ? { qkNorm: true, tieWordEmbeddings: true } : {}),
    // head_dim 32 apart from hidden / heads (16), as Gemma's 256 is apart from 2048 / 8
    ...(family === 'gemma' || family === 'gemma2' ? { gemma: true, tieWordEmbeddings: true, headDim: 32, numKeyValueHeads: 1 } : {}),
    // caps small enough that tanh bends the scores and logits, whole numbers: config.json must still
    // write them as floats (3.0), which transformers 5's strict Gemma2Config asks for; layer 0 attends within 4 tokens
    ...(family === 'gemma2' ? { slidingWindow: 4, gemma2: { queryPreAttnScalar: 24, attnLogitSoftcapping: 2, finalLogitSoftcapping: 3, slidingLayers: [true, false] } } : {}),
    // fused qkv_proj / gate_up_proj; Phi-3 mini's sliding window (2047 there) shorter than the sequence here
    ...(family === 'phi3' ? { fusedProjections: true, slidingWindow: 5 } : {}),
    // 4 experts, each token routed to 2
    ...(family === 'mixtral' ? { ropeTheta: 1_000_000, moe: { numExperts: 4, topK: 2, routerAuxLossCoef: 0.02 } } : {}),
    ...overrides,
  }
}

/** Writes a random model folder; initializer range 0.2 so logits are far from uniform. */
export async function tinyModelDir(family: TinyFamily, overrides: Partial<ModelConfig> = {}, seed = 1): Promise<{ dir: string; config: ModelConfig }> {
  const dir = await tmp()
  const config = tinyConfig(family, overrides)
  await createRandomModel(dir, { family, config, seed, tokenizer: 'mistral', initializerRange: 0.2 })
  return { dir, config }
}

/** The adapter of a spec on a model, from `initialAdapter` (B = 0 unless `randomB`). */
export async function adapterFor(model: DecoderModel, spec: LoraSpec, base: ReadonlyMap<string, FloatTensor> | { readFloat(name: string): Promise<FloatTensor> }, opts: { seed?: number; randomB?: number } = {}): Promise<{ adapter: AdapterState; initial: Map<string, FloatTensor> }> {
  const initial = await initialAdapter({ family: model.family, config: model.config, lora: spec, seed: opts.seed ?? 7, baseTensors: base })
  if (opts.randomB) {
    let k = 1
    for (const [key, t] of initial) if (key.endsWith('lora_B.weight')) t.data.forEach((_, i) => (t.data[i] = opts.randomB! * Math.sin(++k * 12.9898)))
  }
  return { adapter: createAdapter(model, spec, initial), initial }
}

/** A deterministic batch of one sequence of `n` tokens with every target after the first `prompt` trained. */
export function exampleBatch(n: number, vocab: number, prompt = 2, salt = 0): TrainBatch {
  const ids = Array.from({ length: n }, (_, i) => (i * 31 + 7 + salt * 13) % vocab)
  return sequenceBatch(ids, ids.map((_, i) => (i >= prompt ? 1 : 0)))
}

/** Logits of transformers for model folders (eager attention, float32), one Python start for all. */
export function referenceLogits(requests: Array<{ dir: string; ids: number[][]; positions?: number[][]; adapter?: string }>): number[][] {
  const out = execFileSync(workerPython(), [fileURLToPath(new URL('./reference.py', import.meta.url))], {
    input: JSON.stringify(requests.map((r) => ({ ...r, positions: r.positions ?? null }))),
    maxBuffer: 1 << 28,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  return JSON.parse(out.toString()) as number[][]
}

/** A weight reader for initialAdapter that rejects (instead of throwing) on a missing name. */
export const readerOf = (weights: { readFloat(name: string): Promise<FloatTensor> }) => ({ readFloat: async (name: string) => weights.readFloat(name) })

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!))
  return m
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!))
  return m
}
