// DoRA's forward on one linear module against PEFT's formula, written out here in float64:
//   y = x Wᵀ + b + (g − 1) · (x' Wᵀ) + g · s · (x' Aᵀ Bᵀ),  g = m / ‖W + s·B·A‖ (rows)
// with x' = dropout(x) while training (x itself undropped in the base term), on a dense and an
// int8-quantised base; and its gradients, which treat the norm as a constant (DoRA §4.3).
import { beforeAll, describe, expect, it } from 'vitest'
import { tf } from '../../packages/tfjs/src/engine.ts'
import { loraLinear, type LoraPair } from '../../packages/tfjs/src/model/linear.ts'
import type { Linear } from '../../packages/tfjs/src/model/types.ts'
import { dequantize, quantize } from '../../packages/tfjs/src/quant/linear.ts'
import { maxAbs, maxAbsDiff, useEngine } from './helpers.ts'

beforeAll(async () => {
  await useEngine()
})

const [N, IN, OUT, R, SCALE, RATE, SEED, INDEX] = [6, 64, 32, 2, 2, 0.4, 7, 3]

/** Seeded values in [-amp, amp) (a small LCG: the test needs fixed numbers, not quality). */
function values(n: number, seed: number, amp = 1, offset = 0): Float32Array {
  let s = seed
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648
    return offset + amp * (2 * (s / 2147483648) - 1)
  })
}

const w = values(OUT * IN, 1, 0.2)
const bias = values(OUT, 2, 0.1)
const x = values(N * IN, 3)
const a = values(R * IN, 4, 0.3)
const b = values(OUT * R, 5, 0.3) // B ≠ 0: the norm depends on the adapter
const m = values(OUT, 6, 0.3, 1.2)

/** PEFT's DoRA output in float64 for base weight `wd` [out, in], input x and adapter input xd. */
function reference(wd: Float32Array, xd: Float32Array): Float64Array {
  const delta = (o: number, i: number): number => {
    let sum = 0
    for (let k = 0; k < R; k++) sum += b[o * R + k]! * a[k * IN + i]!
    return sum
  }
  const g = Float64Array.from({ length: OUT }, (_, o) => {
    let sq = 0
    for (let i = 0; i < IN; i++) sq += (wd[o * IN + i]! + SCALE * delta(o, i)) ** 2
    return m[o]! / Math.sqrt(sq)
  })
  const y = new Float64Array(N * OUT)
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < OUT; o++) {
      let base = 0
      let plain = 0
      let update = 0
      for (let i = 0; i < IN; i++) {
        base += x[n * IN + i]! * wd[o * IN + i]!
        plain += xd[n * IN + i]! * wd[o * IN + i]!
        update += xd[n * IN + i]! * delta(o, i)
      }
      y[n * OUT + o] = base + bias[o]! + (g[o]! - 1) * plain + g[o]! * SCALE * update
    }
  }
  return y
}

const transposed = (d: Float32Array, rows: number, cols: number): tf.Tensor2D => tf.transpose(tf.tensor2d(d, [rows, cols]))
const denseLinear = (): Linear => ({ path: 'model.layers.0.self_attn.q_proj', weight: { kind: 'dense', weightT: transposed(w, OUT, IN) }, bias: tf.tensor1d(bias) })
const pairOf = (): LoraPair => ({ a: tf.variable(tf.tensor2d(a, [R, IN])), b: tf.variable(tf.tensor2d(b, [OUT, R])), magnitude: tf.variable(tf.tensor1d(m)), index: INDEX })
const run = (lin: Linear, pair: LoraPair, training: boolean): Float32Array => {
  const y = loraLinear(tf.tensor2d(x, [N, IN]), lin, pair, SCALE, RATE, { training, seed: SEED })
  return y.dataSync() as Float32Array
}
// The mask loraLinear draws for this module and micro-batch (seed · 1009 + module index).
const droppedX = (): Float32Array => tf.dropout(tf.tensor2d(x, [N, IN]), RATE, undefined, SEED * 1009 + INDEX).dataSync() as Float32Array

describe('DoRA forward (model/dora.ts)', () => {
  it("matches PEFT's formula without dropout, with dropout on the adapter input only, and on a quantised base", () => {
    const lin = denseLinear()
    const pair = pairOf()
    const xd = droppedX()
    expect(xd.filter((v) => v === 0).length).toBeGreaterThan(N * IN * 0.2) // the mask drops something
    const quantized = quantize(w, [OUT, IN], { type: 'int8' })
    const cases = {
      eval: maxAbsDiff(run(lin, pair, false), reference(w, x)),
      dropout: maxAbsDiff(run(lin, pair, true), reference(w, xd)),
      quantized: maxAbsDiff(run({ ...lin, weight: { kind: 'quantized', weight: quantized } }, pair, true), reference(dequantize(quantized), xd)),
    }
    const scale = maxAbs(reference(w, x))
    for (const [name, diff] of Object.entries(cases)) expect(diff / scale, name).toBeLessThan(1e-5)
    // and it is not plain LoRA: the magnitudes change the output
    expect(maxAbsDiff(run(lin, { a: pair.a, b: pair.b, index: INDEX }, false), reference(w, x)) / scale).toBeGreaterThan(1e-2)
  })

  it('gives A, B and m the gradients of the formula with the norm held constant', () => {
    const lin = denseLinear()
    const pair = pairOf()
    const dy = tf.tensor2d(values(N * OUT, 8), [N, OUT])
    const input = tf.tensor2d(x, [N, IN])
    const vars = [pair.a, pair.b, pair.magnitude!]
    const ours = tf.variableGrads(() => tf.sum(tf.mul(loraLinear(input, lin, pair, SCALE, 0, { training: true, seed: SEED }), dy)) as tf.Scalar, vars)
    // the norm as a plain number array: a constant of the expression below
    const wT = transposed(w, OUT, IN)
    const norm = tf.tensor1d(tf.tidy(() => tf.sqrt(tf.sum(tf.square(tf.add(wT, tf.mul(tf.matMul(tf.transpose(pair.a), tf.transpose(pair.b)), SCALE))), 0))).dataSync() as Float32Array)
    const expected = tf.variableGrads(() => {
      const g = tf.div(pair.magnitude!, norm)
      const plain = tf.matMul(input, wT)
      const update = tf.matMul(tf.matMul(input, tf.transpose(pair.a)), tf.transpose(pair.b))
      const y = tf.add(tf.add(plain, lin.bias!), tf.add(tf.mul(tf.sub(g, 1), plain), tf.mul(tf.mul(g, update), SCALE)))
      return tf.sum(tf.mul(y, dy)) as tf.Scalar
    }, vars)
    for (const v of vars) {
      const [got, want] = [ours.grads[v.name]!.dataSync(), expected.grads[v.name]!.dataSync()]
      expect(maxAbs(want)).toBeGreaterThan(1e-3)
      expect(maxAbsDiff(got, want) / maxAbs(want), v.name).toBeLessThan(1e-5)
    }
  })
})
