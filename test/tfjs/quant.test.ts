import { createRng, fillNormal, openModelWeights } from '@tunekit/hf'
import { beforeAll, describe, expect, it } from 'vitest'
import { tf } from '../../packages/tfjs/src/engine.ts'
import { buildModel, loadModel, modelBytes } from '../../packages/tfjs/src/model/load.ts'
import { forward } from '../../packages/tfjs/src/model/decoder.ts'
import { dequantize, quantize } from '../../packages/tfjs/src/quant/linear.ts'
import { NF4_MAX_HALF_GAP, dequantizeScales } from '../../packages/tfjs/src/quant/nf4.ts'
import { quantizedBytes } from '../../packages/tfjs/src/quant/types.ts'
import { exampleBatch, maxAbs, maxAbsDiff, tinyModelDir, useEngine } from './helpers.ts'

beforeAll(async () => {
  await useEngine()
})

const weight = (rows: number, cols: number) => fillNormal(createRng(3, 'w'), new Float32Array(rows * cols), 0, 0.02)

describe('quantised storage', () => {
  it.each([false, true])('NF4 round trip stays within the NF4 bound of every block (double quant: %s)', (doubleQuant) => {
    const data = weight(96, 128)
    const q = quantize(data, [96, 128], { type: 'nf4', blockSize: 64, doubleQuant })
    const back = dequantize(q)
    const scales = dequantizeScales(q.scales)
    for (let b = 0; b < data.length / 64; b++) {
      const block = data.subarray(b * 64, (b + 1) * 64)
      const absmax = maxAbs(block)
      // Half the widest gap between NF4 levels, times the block's scale; with double quantisation the
      // stored scale is itself off by at most |scale - absmax| for values up to absmax.
      const bound = NF4_MAX_HALF_GAP * absmax + Math.abs(scales[b]! - absmax) * (1 + NF4_MAX_HALF_GAP) + 1e-7
      expect(maxAbsDiff(block, back.subarray(b * 64, (b + 1) * 64))).toBeLessThanOrEqual(bound)
    }
    // 4 bits per weight plus 32 (or 8 with double quant) bits per block of 64
    expect(q.codes.byteLength).toBe(96 * 128 / 2)
    expect(quantizedBytes(q)).toBeLessThan(doubleQuant ? 96 * 128 * 0.52 + 64 : 96 * 128 * 0.57)
  })

  it('int8 round trip is within half a step of each row scale', () => {
    const data = weight(32, 64)
    const back = dequantize(quantize(data, [32, 64], { type: 'int8' }))
    for (let r = 0; r < 32; r++) {
      const row = data.subarray(r * 64, (r + 1) * 64)
      expect(maxAbsDiff(row, back.subarray(r * 64, (r + 1) * 64))).toBeLessThanOrEqual(maxAbs(row) / 127 / 2 + 1e-7)
    }
  })

  it.each(['nf4', 'int8'] as const)('a %s model computes with its dequantised weights and holds packed bytes only', async (type) => {
    const { dir, config } = await tinyModelDir('llama')
    const nf4 = await loadModel(dir, { quantize: { type, doubleQuant: true } })
    // The same model with every linear weight replaced by its dequantised values, held as float32.
    const weights = await openModelWeights(dir)
    const dequantised = await buildModel('llama', config, async (name) => {
      if (!weights.names.includes(name)) return undefined // an optional weight (a reward model's score head)
      const t = await weights.readFloat(name)
      if (!/_proj\.weight$/.test(name)) return t
      return { shape: t.shape, data: dequantize(quantize(t.data, [t.shape[0]!, t.shape[1]!], { type, doubleQuant: true })) }
    })
    await weights.close()
    const batch = exampleBatch(6, config.vocabSize)
    const before = tf.memory().numTensors
    const a = forward(dequantised, undefined, batch)
    const b = forward(nf4, undefined, batch)
    // No dequantised float32 copy outlives the forward pass.
    expect(tf.memory().numTensors).toBe(before + 2)
    expect(maxAbsDiff(a.dataSync(), b.dataSync()) / maxAbs(a.dataSync())).toBeLessThan(1e-6)
    const bytes = modelBytes(nf4)
    const denseBytes = modelBytes(dequantised)
    // NF4 with double quantisation: ~4.13 bits per linear weight against 32; int8: ~8.
    expect(bytes.quantizedBytes).toBeLessThan((denseBytes.tensorBytes - bytes.tensorBytes) / (type === 'nf4' ? 7 : 3.9))
  })
})
