import { openModelWeights } from '@tunekit/hf'
import { beforeAll, describe, expect, it } from 'vitest'
import { tf } from '../../packages/tfjs/src/engine.ts'
import { forward } from '../../packages/tfjs/src/model/decoder.ts'
import { loadModel } from '../../packages/tfjs/src/model/load.ts'
import { adapterFor, readerOf, maxAbs, maxAbsDiff, referenceLogits, tinyModelDir, useEngine } from './helpers.ts'

beforeAll(async () => {
  await useEngine()
})

const ids = [5, 17, 33, 2, 90, 61, 44, 8, 12, 70, 3]
const single = (n: number) => ({
  batch: 1,
  seq: n,
  ids: Int32Array.from(ids.slice(0, n)),
  positions: Int32Array.from({ length: n }, (_, i) => i),
  segments: new Int32Array(n),
})

describe('decoder forward', () => {
  // The proof of the model math: the same folder through transformers and through tfjs.
  // Mistral's window (6) is shorter than the sequence (11), so the sliding window is exercised.
  it('llama, mistral and qwen2 logits match transformers', async () => {
    const families = ['llama', 'mistral', 'qwen2'] as const
    const dirs = await Promise.all(families.map((f) => tinyModelDir(f)))
    const refs = referenceLogits(dirs.map(({ dir }) => ({ dir, ids: [ids] })))
    for (const [i, { dir }] of dirs.entries()) {
      const model = await loadModel(dir)
      const ours = forward(model, undefined, single(ids.length)).dataSync()
      const ref = refs[i]!
      expect(ours.length).toBe(ref.length)
      expect(maxAbsDiff(ours, ref) / maxAbs(ref), families[i]).toBeLessThan(1e-5)
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
