import { openModelWeights } from '@tunekit/hf'
import type { ModelConfig, RopeScaling } from '@tunekit/core'
import { beforeAll, describe, expect, it } from 'vitest'
import { tf } from '../../packages/tfjs/src/engine.ts'
import { forward } from '../../packages/tfjs/src/model/decoder.ts'
import { loadModel } from '../../packages/tfjs/src/model/load.ts'
import { adapterFor, readerOf, maxAbs, maxAbsDiff, referenceLogits, tinyModelDir, useEngine, type TinyFamily } from './helpers.ts'

const ids = [5, 17, 33, 2, 90, 61, 44, 8, 12, 70, 3]
const single = (n: number) => ({
  batch: 1,
  seq: n,
  ids: Int32Array.from(ids.slice(0, n)),
  positions: Int32Array.from({ length: n }, (_, i) => i),
  segments: new Int32Array(n),
})

// Each case's folder through transformers and through tfjs; one Python process for the file.
// Rope scaling on llama (head_dim 16, theta 1e4): llama3's original context 64 with frequency
// factors 1 and 4 keeps, smooths and divides some frequencies each; dynamic's context (8) is
// shorter than the sequence (11), so theta grows; yarn's ramp spans dims 1–5 of 8.
const cases: Array<{ name: string; family: TinyFamily; overrides?: Partial<ModelConfig> }> = [
  { name: 'llama', family: 'llama' },
  { name: 'mistral', family: 'mistral' },
  { name: 'qwen2', family: 'qwen2' },
  { name: 'qwen3', family: 'qwen3' },
  { name: 'gemma', family: 'gemma' },
  { name: 'gemma2', family: 'gemma2' },
  { name: 'phi3', family: 'phi3' },
  { name: 'mixtral', family: 'mixtral' },
  ...([
    { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64 },
    { type: 'linear', factor: 4 },
    { type: 'dynamic', factor: 4 },
    { type: 'yarn', factor: 4, originalMaxPositionEmbeddings: 64, attentionFactor: 1.1386, betaFast: 32, betaSlow: 1, truncate: true },
  ] satisfies RopeScaling[]).map((ropeScaling) => ({
    name: `llama rope ${ropeScaling.type}`,
    family: 'llama' as const,
    overrides: { ropeScaling, ...(ropeScaling.type === 'dynamic' ? { maxPositionEmbeddings: 8 } : {}) },
  })),
]
const ours: Record<string, Float32Array> = {}
const refs: Record<string, number[]> = {}

beforeAll(async () => {
  await useEngine()
  const dirs = await Promise.all(cases.map((c) => tinyModelDir(c.family, c.overrides)))
  const logits = referenceLogits(dirs.map(({ dir }) => ({ dir, ids: [ids] })))
  for (const [i, { dir }] of dirs.entries()) {
    const model = await loadModel(dir)
    ours[cases[i]!.name] = forward(model, undefined, single(ids.length)).dataSync() as Float32Array
    refs[cases[i]!.name] = logits[i]!
  }
}, 120_000)

const expectParity = (name: string): void => {
  const ref = refs[name]!
  expect(ours[name]!.length).toBe(ref.length)
  const rel = maxAbsDiff(ours[name]!, ref) / maxAbs(ref)
  console.log(`${name}: max |tfjs − transformers| / max |transformers| = ${rel.toExponential(2)}`)
  expect(rel, name).toBeLessThan(1e-5)
}

describe('decoder forward', () => {
  // The proof of the model math: the same folder through transformers and through tfjs.
  // Mistral's window (6) is shorter than the sequence (11), so the sliding window is exercised.
  it('llama, mistral, qwen2, qwen3, gemma, gemma 2, phi-3 and mixtral logits match transformers', () => {
    for (const name of ['llama', 'mistral', 'qwen2', 'qwen3', 'gemma', 'gemma2', 'phi3', 'mixtral']) expectParity(name)
  })

  it("llama's rope scaling (llama3, linear, dynamic, yarn) gives transformers' logits, and other logits than plain rope", () => {
    for (const type of ['llama3', 'linear', 'dynamic', 'yarn']) {
      expectParity(`llama rope ${type}`)
      // same seed and weights as the plain llama: only the rotary tables differ
      expect(maxAbsDiff(refs[`llama rope ${type}`]!, refs.llama!), type).toBeGreaterThan(1e-3)
    }
  })

  it('packed segments give the logits of the samples run alone', async () => {
    const { dir } = await tinyModelDir('mistral')
    const model = await loadModel(dir)
    const a = ids.slice(0, 5)
    const b = ids.slice(5, 11)
    const packed = forward(model, undefined, {
      batch: 1,
      seq: 11,
      ids: Int32Array.from([...a, ...b]),
      positions: Int32Array.from([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5]),
      segments: Int32Array.from([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]),
    }).dataSync()
    const alone = (seq: number[]) => forward(model, undefined, { batch: 1, seq: seq.length, ids: Int32Array.from(seq), positions: Int32Array.from(seq.keys()), segments: new Int32Array(seq.length) }).dataSync()
    const v = model.config.vocabSize
    expect(maxAbsDiff(packed.slice(0, 5 * v), alone(a))).toBeLessThan(1e-4)
    expect(maxAbsDiff(packed.slice(5 * v), alone(b))).toBeLessThan(1e-4)
  })

  it('a LoRA model with B = 0 gives the base logits, saved modules and trainable tokens included', async () => {
    const { dir } = await tinyModelDir('qwen2')
    const model = await loadModel(dir)
    const weights = await openModelWeights(dir)
    const { adapter } = await adapterFor(model, { rank: 4, alpha: 8, targetModules: 'all-linear', modulesToSave: ['lm_head'], trainableTokens: { embed_tokens: [5, 90] } }, readerOf(weights))
    await weights.close()
    const batch = single(ids.length)
    const base = forward(model, undefined, batch).dataSync()
    const adapted = forward(model, adapter, batch).dataSync()
    expect(maxAbsDiff(base, adapted)).toBe(0)
    tf.dispose(adapter.lmHead!)
  })
})
