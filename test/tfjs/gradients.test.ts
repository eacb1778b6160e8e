import { openModelWeights } from '@tunekit/hf'
import { beforeAll, describe, expect, it } from 'vitest'
import { tf } from '../../packages/tfjs/src/engine.ts'
import { trainableEntries } from '../../packages/tfjs/src/methods/state.ts'
import { loadModel } from '../../packages/tfjs/src/model/load.ts'
import { lossSum } from '../../packages/tfjs/src/train/loss.ts'
import { frozenHead, frozenHeadLogits } from '../../packages/tfjs/src/model/head.ts'
import { setKernelOptions } from '../../packages/tfjs/src/model/kernel-options.ts'
import { adapterFor, exampleBatch, readerOf, tinyModelDir, useEngine } from './helpers.ts'

beforeAll(async () => {
  await useEngine()
})

describe('gradients', () => {
  it('analytic gradients of LoRA, saved modules and trainable tokens match central finite differences', async () => {
    const { dir, config } = await tinyModelDir('qwen2', { numHiddenLayers: 1 })
    const model = await loadModel(dir)
    const weights = await openModelWeights(dir)
    const spec = { rank: 2, alpha: 4, targetModules: ['q_proj', 'v_proj', 'down_proj'], modulesToSave: ['lm_head'], trainableTokens: { embed_tokens: [7, 38] } }
    const { adapter } = await adapterFor(model, spec, readerOf(weights), { randomB: 0.3 })
    await weights.close()
    const batch = exampleBatch(8, config.vocabSize)
    const loss = () => lossSum(model, adapter, batch)
    const entries = trainableEntries(adapter)
    const vars = entries.map(([, v]) => v)
    const { grads } = tf.variableGrads(loss, vars)
    for (const [key, v] of entries) {
      const g = grads[v.name]!.dataSync()
      // The three largest components of each tensor: their finite differences are well above float32 noise.
      const top = Array.from(g.keys()).sort((a, b) => Math.abs(g[b]!) - Math.abs(g[a]!)).slice(0, 3)
      for (const i of top) {
        const values = v.dataSync().slice() as Float32Array
        const at = (delta: number): number => {
          const moved = values.slice()
          moved[i] = values[i]! + delta
          v.assign(tf.tensor(moved, v.shape))
          return tf.tidy(() => loss().dataSync()[0]!)
        }
        const eps = 1e-2
        const numeric = (at(eps) - at(-eps)) / (2 * eps)
        v.assign(tf.tensor(values, v.shape))
        expect(Math.abs(numeric - g[i]!), `${key}[${i}]: analytic ${g[i]} numeric ${numeric}`).toBeLessThan(2e-3 * Math.max(1, Math.abs(g[i]!)))
      }
    }
  })

  it.each([false, true])('the freeing backward pass gives tfjs-core\'s gradients bit for bit, at a lower peak, leaving what it leaves (checkpointing: %s)', async (gradientCheckpointing) => {
    const { dir, config } = await tinyModelDir('mistral')
    const model = await loadModel(dir)
    const weights = await openModelWeights(dir)
    const spec = { rank: 2, alpha: 4, targetModules: 'all-linear' as const, dropout: 0.1, modulesToSave: ['lm_head'] }
    const { adapter } = await adapterFor(model, spec, readerOf(weights), { randomB: 0.2 })
    await weights.close()
    const batch = exampleBatch(9, config.vocabSize)
    const vars = trainableEntries(adapter).map(([, v]) => v)
    const run = async (freeingBackprop: boolean) => {
      setKernelOptions({ freeingBackprop })
      const before = tf.memory().numTensors
      let out: { loss: number; grads: number[][] } | undefined
      const profile = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(() => lossSum(model, adapter, batch, { training: true, seed: 3, gradientCheckpointing }), vars)
        out = { loss: value.dataSync()[0]!, grads: vars.map((v) => Array.from(grads[v.name]!.dataSync())) }
        tf.dispose([value, ...Object.values(grads)])
      })
      return { ...out!, peak: profile.peakBytes, left: tf.memory().numTensors - before }
    }
    try {
      const tfjs = await run(false)
      const freeing = await run(true)
      expect(freeing.loss).toBe(tfjs.loss)
      expect(freeing.grads).toEqual(tfjs.grads)
      expect(freeing.left).toBe(tfjs.left) // the same count either way
      expect(freeing.peak).toBeLessThan(tfjs.peak)
    } finally {
      setKernelOptions({ freeingBackprop: true })
    }
  })

  it.each([undefined, 'nf4'] as const)('gradient checkpointing gives the same gradients as keeping activations (quantised: %s)', async (type) => {
    const { dir, config } = await tinyModelDir('mistral')
    const model = await loadModel(dir, type ? { quantize: { type, doubleQuant: true } } : {})
    const { adapter } = await adapterFor(model, { rank: 2, alpha: 4, targetModules: 'all-linear', dropout: 0.1 }, new Map(), { randomB: 0.2 })
    const batch = exampleBatch(9, config.vocabSize)
    const vars = trainableEntries(adapter).map(([, v]) => v)
    const gradsOf = (gradientCheckpointing: boolean) => tf.variableGrads(() => lossSum(model, adapter, batch, { training: true, seed: 3, gradientCheckpointing }), vars)
    const plain = gradsOf(false)
    const recomputed = gradsOf(true)
    expect(recomputed.value.dataSync()[0]).toBeCloseTo(plain.value.dataSync()[0]!, 5)
    for (const v of vars) {
      const a = plain.grads[v.name]!.dataSync()
      const b = recomputed.grads[v.name]!.dataSync()
      let diff = 0
      a.forEach((x, i) => (diff = Math.max(diff, Math.abs(x - b[i]!))))
      expect(diff).toBeLessThan(1e-5)
    }
  })

  it('the blocked frozen lm_head gives x·Wᵀ and dx = dy·W across several vocabulary blocks', () => {
    const w = tf.randomNormal([9001, 8], 0, 1, 'float32', 1) as tf.Tensor2D // 3 blocks of ≤ 4000 rows
    const x = tf.randomNormal([5, 8], 0, 1, 'float32', 2) as tf.Tensor2D
    const dy = tf.randomNormal([5, 9001], 0, 1, 'float32', 3) as tf.Tensor2D
    const head = frozenHead(w)
    expect(head.rows.length).toBe(3)
    const diff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!)
    expect(diff(frozenHeadLogits(x, head), tf.matMul(x, w, false, true))).toBeLessThan(1e-4)
    const [dx] = tf.grads((input: tf.Tensor) => tf.sum(tf.mul(frozenHeadLogits(input as tf.Tensor2D, head), dy)))([x])
    expect(diff(dx!, tf.matMul(dy, w))).toBeLessThan(1e-3)
  })
})
