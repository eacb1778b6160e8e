import { readAdapter, writeAdapter, type LoraSpec } from '@tunekit/hf'
import { readdir } from 'node:fs/promises'
import { beforeAll, describe, expect, it } from 'vitest'
import { tf } from '../../packages/tfjs/src/engine.ts'
import { generateIds, sampleToken } from '../../packages/tfjs/src/generate.ts'
import { adapterTensors, disposeAdapter } from '../../packages/tfjs/src/methods/state.ts'
import { mergeAdapter } from '../../packages/tfjs/src/merge.ts'
import { forward } from '../../packages/tfjs/src/model/decoder.ts'
import { baseWeightReader, loadModel } from '../../packages/tfjs/src/model/load.ts'
import { createRng } from '@tunekit/hf'
import { adapterFor, exampleBatch, maxAbs, maxAbsDiff, referenceLogits, tinyModelDir, tmp, useEngine } from './helpers.ts'

beforeAll(async () => {
  await useEngine()
})

describe('merge', () => {
  // Two adapters PEFT accepts (it refuses modules_to_save and trainable tokens on the same embedding):
  // rsLoRA with trainable tokens on a tied qwen2, and saved embedding + lm_head on an untied llama.
  const cases = [
    { family: 'qwen2' as const, spec: { rank: 4, alpha: 8, rsLora: true, targetModules: 'all-linear', trainableTokens: { embed_tokens: [3, 40] } } satisfies LoraSpec, tied: true },
    { family: 'llama' as const, spec: { rank: 4, alpha: 8, targetModules: ['q_proj', 'v_proj', 'down_proj'], modulesToSave: ['embed_tokens', 'lm_head'] } satisfies LoraSpec, tied: false },
  ]
  it('merged models give the adapter model logits, and PEFT and transformers agree with both', async () => {
    const requests: Array<{ dir: string; adapter?: string; ids: number[][] }> = []
    const ours: Float32Array[] = []
    for (const c of cases) {
      const { dir, config } = await tinyModelDir(c.family)
      const model = await loadModel(dir)
      const base = await baseWeightReader(dir)
      const { adapter } = await adapterFor(model, c.spec, base, { randomB: 0.2 })
      await base.close()
      // Move saved modules and token rows away from the base too.
      if (adapter.embed) adapter.embed.assign(tf.mul(adapter.embed, 1.5) as tf.Tensor2D)
      if (adapter.lmHead) adapter.lmHead.assign(tf.mul(adapter.lmHead, -1) as tf.Tensor2D)
      if (adapter.tokens) adapter.tokens.rows.assign(tf.add(adapter.tokens.rows, 0.3) as tf.Tensor2D)
      const adapterDir = await tmp()
      await writeAdapter(adapterDir, { tensors: adapterTensors(adapter), loraConfig: c.spec, family: c.family, baseModel: dir })
      const out = await tmp()
      await mergeAdapter({ baseDir: dir, adapter: await readAdapter(adapterDir), outDir: out, maxShardSize: '100KB' })
      expect((await readdir(out)).filter((f) => f.endsWith('.safetensors')).length).toBeGreaterThan(1)
      expect(await readdir(out)).toContain('model.safetensors.index.json')
      const merged = await loadModel(out)
      expect(merged.config.tieWordEmbeddings).toBe(c.tied)
      const batch = exampleBatch(10, config.vocabSize, 1)
      batch.ids[2] = 40 // a trained token in the input; token 3 appears as a target
      const want = forward(model, adapter, batch).dataSync() as Float32Array
      const got = forward(merged, undefined, batch).dataSync() as Float32Array
      expect(maxAbsDiff(want, got) / maxAbs(want), c.family).toBeLessThanOrEqual(1e-5)
      requests.push({ dir, adapter: adapterDir, ids: [[...batch.ids]] }, { dir: out, ids: [[...batch.ids]] })
      ours.push(want, got)
      disposeAdapter(adapter)
    }
    // The adapter folders through PEFT on transformers, the merged folders through transformers.
    const refs = referenceLogits(requests)
    refs.forEach((ref, i) => expect(maxAbsDiff(ours[i]!, ref) / maxAbs(ref), requests[i]!.adapter ? 'peft' : 'merged').toBeLessThan(1e-5))
  })
})

describe('generate', () => {
  it('greedy decoding with the KV cache follows the full forward pass argmax', async () => {
    const { dir } = await tinyModelDir('mistral', { slidingWindow: 4 })
    const model = await loadModel(dir)
    const prompt = [5, 17, 33, 2]
    const generated = generateIds(model, undefined, prompt, { maxNewTokens: 8 })
    expect(generated).toHaveLength(8)
    // Recompute each token from scratch: the argmax of the last position of prompt + tokens so far.
    const seq = [...prompt]
    for (const next of generated) {
      const n = seq.length
      const logits = forward(model, undefined, { batch: 1, seq: n, ids: Int32Array.from(seq), positions: Int32Array.from(seq.keys()), segments: new Int32Array(n) })
      const last = tf.tidy(() => tf.argMax(tf.slice(logits, [n - 1, 0], [1, -1]), -1).dataSync()[0])
      expect(next).toBe(last)
      seq.push(next)
    }
    // Stops at eos (excluded).
    expect(generateIds(model, undefined, prompt, { maxNewTokens: 8, eosIds: [generated[2]!] })).toEqual(generated.slice(0, 2))
  })

  it('samples with temperature, top-k and top-p from a seeded stream', () => {
    const logits = Float32Array.from([0, 3, 1, 2.9, -1])
    const draw = (opts: Parameters<typeof sampleToken>[1], seed: number) => Array.from({ length: 200 }, ((rng) => () => sampleToken(logits, opts, rng))(createRng(seed, 's')))
    expect(new Set(draw({ temperature: 1, topK: 1 }, 1))).toEqual(new Set([1]))
    expect(new Set(draw({ temperature: 1, topK: 2 }, 1))).toEqual(new Set([1, 3]))
    // top-p 0.5 keeps the smallest prefix reaching half the mass: tokens 1 (≈ 0.44) and 3 (≈ 0.40).
    expect(new Set(draw({ temperature: 1, topP: 0.5 }, 2))).toEqual(new Set([1, 3]))
    expect(draw({ temperature: 0.7 }, 5)).toEqual(draw({ temperature: 0.7 }, 5))
    expect(new Set(draw({ temperature: 5 }, 3)).size).toBe(5)
  })
})
