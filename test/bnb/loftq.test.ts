// LoftQ's start values on tfjs against PEFT's loftq_init (test/bnb/loftq_reference.py: PEFT 0.21's function
// transcribed with compute_device 'cpu', bitsandbytes 0.50.2's CPU quantisers, in .venv-bnb): the NF4 and
// int8 codes and scales bit for bit, the dequantised base within 1e-5 and B·A within 1e-4 (SVD signs
// differ between the Jacobi SVD and LAPACK's, so A and B are compared through their product).
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { createRng, f16ToF32, f32ToF16, fillNormal, type FloatTensor } from '@tunekit/hf'
import { quantize } from '../../packages/tfjs/src/quant/linear.ts'
import { loftqInit, type LoftqOptions } from '../../packages/tfjs/src/methods/loftq.ts'
import { bnbPython } from '../python.ts'

// The adapted weights of the tiny model (hidden 64, 4 heads, 2 kv heads, intermediate 128): q_proj, v_proj, down_proj
const weights: FloatTensor[] = ([[64, 64], [32, 64], [64, 128]] as const).map(([out, inF], i) => ({ shape: [out, inF], data: fillNormal(createRng(7, `w${i}`), new Float32Array(out * inF), 0, 0.05) }))
const cases: LoftqOptions[] = [{ bits: 4, rank: 4, iters: 1 }, { bits: 4, rank: 4, iters: 3 }, { bits: 8, rank: 2, iters: 2 }]

interface RefWeight { base: number[]; a: number[]; b: number[]; codes: number[]; scales: number[] }
let reference: Array<{ weights: RefWeight[] }>

beforeAll(() => {
  const request = { cases: cases.map((c) => ({ ...c, weights: weights.map((w) => ({ shape: w.shape, data: [...w.data] })) })) }
  const r = spawnSync(bnbPython(), [join(import.meta.dirname, 'loftq_reference.py')], { input: JSON.stringify(request), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })
  if (r.status !== 0) throw new Error(`loftq_reference.py exited ${r.status}:\n${r.stderr.slice(-3000)}`)
  reference = (JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('result '))!.slice(7)) as { cases: typeof reference }).cases
}, 120_000)

const maxDiff = (x: ArrayLike<number>, y: ArrayLike<number>): number => {
  let m = 0
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!))
  return m
}
/** B·A [out, in] of B [out, r] and A [r, in]. */
const product = (b: ArrayLike<number>, a: ArrayLike<number>, out: number, r: number, inF: number): Float64Array => {
  const p = new Float64Array(out * inF)
  for (let o = 0; o < out; o++) for (let k = 0; k < r; k++) for (let i = 0; i < inF; i++) p[o * inF + i] = p[o * inF + i]! + b[o * r + k]! * a[k * inF + i]!
  return p
}

describe('LoftQ against PEFT and bitsandbytes', () => {
  it("tfjs's NF4 and int8 are bitsandbytes' bit for bit (codes and scales)", () => {
    for (const [c, bits] of [[0, 4], [2, 8]] as const) {
      weights.forEach((w, i) => {
        const ref = reference[c]!.weights[i]!
        // Int8Params quantises the float16 copy of the weight; bitsandbytes' absmax is of those values
        const q = bits === 4 ? quantize(w.data, w.shape as [number, number], { type: 'nf4', blockSize: 64 }) : quantize(f16ToF32(f32ToF16(w.data)), w.shape as [number, number], { type: 'int8' })
        expect([...q.codes]).toEqual(ref.codes)
        expect([...(q.scales as Float32Array)]).toEqual(ref.scales)
      })
    }
  })

  it.each(cases.map((c, i) => [i, c] as const))('case %i %o: the base within 1e-5, B·A within 1e-4', (c, o) => {
    weights.forEach((w, i) => {
      const [out, inF] = w.shape as [number, number]
      const ref = reference[c]!.weights[i]!
      const mine = loftqInit(w, o)
      expect(maxDiff(mine.base.data, ref.base)).toBeLessThanOrEqual(1e-5)
      expect(maxDiff(product(mine.b.data, mine.a.data, out, o.rank, inF), product(ref.b, ref.a, out, o.rank, inF))).toBeLessThanOrEqual(1e-4)
    })
  })
})
