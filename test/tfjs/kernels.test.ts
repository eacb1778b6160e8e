import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { tf } from '../../packages/tfjs/src/engine.ts'
import { matMul } from '../../packages/tfjs/src/model/matmul.ts'
import { frozenHead, frozenHeadLogits, HEAD_BLOCK } from '../../packages/tfjs/src/model/head.ts'
import { headCrossEntropySum } from '../../packages/tfjs/src/model/head-loss.ts'
import { setKernelOptions } from '../../packages/tfjs/src/model/kernel-options.ts'
import { crossEntropySum } from '../../packages/tfjs/src/train/loss.ts'
import { createOptimizer, disposeOptimizer, optimizerStep } from '../../packages/tfjs/src/train/optimizer.ts'
import { wasmThreadCount } from '../../packages/tfjs/src/wasm-threads.ts'
import { useEngine } from './helpers.ts'

// The wasm-friendly kernels against the plain tfjs formulations they replace, forward and backward.

beforeAll(async () => {
  await useEngine()
})

afterEach(() => {
  setKernelOptions({ splitBatchedMatMul: true, fusedHeadLoss: true, heapSlices: true, inPlaceAdam: true })
})

/** Deterministic values in [-1, 1). */
const values = (n: number, seed: number): Float32Array => Float32Array.from({ length: n }, (_, i) => (((i * 7919 + seed * 104729) % 2003) / 1001.5) - 1)

const maxDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!)

describe('slices through a view of the wasm heap', () => {
  it('slice, split and unstack give the package kernels\' values, contiguous or not', () => {
    const x = tf.tensor3d(values(3 * 4 * 5, 6), [3, 4, 5])
    const cuts = (): tf.Tensor[] => [
      tf.slice(x, [1, 0, 0], [2, 4, 5]), // contiguous
      tf.slice(x, [0, 1, 2], [3, 2, 3]), // strided in every axis but the first
      ...tf.split(x, [2, 3], 2),
      ...tf.unstack(x, 1),
      tf.slice(tf.tensor1d([1, 2, 3], 'int32'), [1], [2]),
    ]
    const viaHeap = cuts()
    setKernelOptions({ heapSlices: false })
    const copied = cuts()
    expect(viaHeap.map((t) => t.shape)).toEqual(copied.map((t) => t.shape))
    viaHeap.forEach((t, i) => expect(Array.from(t.dataSync())).toEqual(Array.from(copied[i]!.dataSync())))
  })
})

describe('batched product', () => {
  it('split into 2-D products equals the batched kernel, value and both gradients', () => {
    const a = tf.tensor4d(values(2 * 3 * 5 * 4, 1), [2, 3, 5, 4])
    const b = tf.tensor4d(values(2 * 3 * 4 * 6, 2), [2, 3, 4, 6])
    const weight = tf.tensor4d(values(2 * 3 * 5 * 6, 3), [2, 3, 5, 6]) // a non-uniform upstream gradient
    const run = (split: boolean): tf.Tensor[] => {
      setKernelOptions({ splitBatchedMatMul: split })
      const f = (x: tf.Tensor, y: tf.Tensor): tf.Scalar => tf.sum(tf.mul(matMul(x, y), weight))
      const { value, grads } = tf.valueAndGrads(f)([a, b])
      return [matMul(a, b), value, ...grads]
    }
    const split = run(true)
    const batched = run(false)
    expect(split[0]!.shape).toEqual([2, 3, 5, 6])
    split.forEach((t, i) => expect(maxDiff(t, batched[i]!)).toBeLessThan(1e-5))
  })
})

describe('fused head loss', () => {
  // Over two vocabulary blocks, with targets in both; the last row's target is the last token.
  const hidden = 8
  const vocab = HEAD_BLOCK + 7
  const targets = Int32Array.from([3, HEAD_BLOCK + 2, 0, HEAD_BLOCK + 6])
  const x = (): tf.Tensor2D => tf.tensor2d(values(targets.length * hidden, 4), [targets.length, hidden])
  const w = (): tf.Tensor2D => tf.tensor2d(values(vocab * hidden, 5), [vocab, hidden])

  it('equals cross-entropy of the frozen head logits, value and gradient', () => {
    const head = frozenHead(w())
    const fused = tf.valueAndGrad((h: tf.Tensor) => headCrossEntropySum(h as tf.Tensor2D, head, targets))(x())
    const plain = tf.valueAndGrad((h: tf.Tensor) => crossEntropySum(frozenHeadLogits(h as tf.Tensor2D, head), targets))(x())
    expect(Math.abs(fused.value.dataSync()[0]! - plain.value.dataSync()[0]!)).toBeLessThan(1e-4)
    expect(maxDiff(fused.grad, plain.grad)).toBeLessThan(1e-5)
  })

  it('equals cross-entropy of the trained head logits, value and both gradients', () => {
    const h = tf.variable(x())
    const m = tf.variable(w())
    const fused = tf.variableGrads(() => headCrossEntropySum(h, m, targets), [h, m])
    const plain = tf.variableGrads(() => crossEntropySum(tf.matMul(h, m, false, true), targets), [h, m])
    expect(Math.abs(fused.value.dataSync()[0]! - plain.value.dataSync()[0]!)).toBeLessThan(1e-4)
    for (const v of [h, m]) expect(maxDiff(fused.grads[v.name]!, plain.grads[v.name]!)).toBeLessThan(1e-5)
  })
})

describe('AdamW in place', () => {
  const settings = { kind: 'adamw' as const, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 }
  /** 5 steps on a decayed matrix (its variable sharing the buffer of the tensor it came from) and an undecayed bias. */
  const train = (inPlace: boolean): { params: number[][]; moments: number[][]; live: number; sameBuffers: boolean } => {
    setKernelOptions({ inPlaceAdam: inPlace })
    const init = tf.tensor2d(values(64 * 48, 4), [64, 48])
    const params = [tf.variable(init), tf.variable(tf.tensor1d(values(48, 5)))]
    const state = createOptimizer(settings, params, ['w.weight', 'w.bias'])
    const before = tf.memory().numTensors
    let afterFirst: object[] = []
    for (let step = 1; step <= 5; step++) {
      const grads = params.map((p, i) => tf.tensor(values(p.size, 10 * step + i), p.shape))
      optimizerStep(state, params, grads, 1e-2 / step)
      tf.dispose(grads)
      if (step === 1) afterFirst = params.map((p) => p.dataId)
    }
    const sameBuffers = params.every((p, i) => p.dataId === afterFirst[i])
    const live = tf.memory().numTensors - before
    const out = { params: params.map((p) => Array.from(p.dataSync())), moments: [...state.expAvg, ...state.expAvgSq].map((m) => Array.from(m.dataSync())), live, sameBuffers }
    disposeOptimizer(state)
    tf.dispose([init, ...params])
    return out
  }

  it('gives the tensor-op form\'s parameters and moments bit for bit, and leaves no tensor behind', () => {
    const inPlace = train(true)
    const ops = train(false)
    expect(inPlace.params).toEqual(ops.params)
    expect(inPlace.moments).toEqual(ops.moments)
    expect(inPlace.params[0]).not.toEqual(Array.from(values(64 * 48, 4))) // it trained
    expect([inPlace.live, ops.live]).toEqual([0, 0])
    expect([inPlace.sameBuffers, ops.sameBuffers]).toEqual([true, false]) // steps 2–5 rewrote the buffers of step 1
  })
})

describe('wasm threads', () => {
  it('takes TUNEKIT_WASM_THREADS, else a pool only with 4+ cores, at most the build\'s 8', () => {
    expect([wasmThreadCount({}, 2), wasmThreadCount({}, 4), wasmThreadCount({}, 16)]).toEqual([1, 4, 8])
    expect([wasmThreadCount({ TUNEKIT_WASM_THREADS: '1' }, 16), wasmThreadCount({ TUNEKIT_WASM_THREADS: '3' }, 2), wasmThreadCount({ TUNEKIT_WASM_THREADS: 'x' }, 16)]).toEqual([1, 3, 1])
  })

  it('a script on the 2-thread pool ends when its work does (the pool\'s workers do not hold the process open)', async () => {
    const tsx = join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'tsx')
    const out = await new Promise<{ code: number | string | null; stdout: string }>((done) => {
      // killed after 60 s: a process held open by the pool never ends by itself
      execFile(tsx, [join(import.meta.dirname, 'wasm-threads-exit.ts')], { env: { ...process.env, TUNEKIT_WASM_THREADS: '2' }, timeout: 60_000 }, (err, stdout) =>
        done({ code: err ? (err.code ?? err.signal ?? 'killed') : 0, stdout }),
      )
    })
    expect(out.code).toBe(0)
    expect(JSON.parse(out.stdout.trim())).toEqual({ reason: 'device: wasm requested (2 threads)', product: 64 })
  }, 90_000)
})
