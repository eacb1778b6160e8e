// Where a tfjs training step's time goes, kernel by kernel: a preload that times every kernel the
// engine runs (wasm kernels are synchronous, so a kernel's wall time is its compute) and prints,
// after each optimizer step (one `gradients` call each, with one micro-batch per step), the step's
// wall and CPU seconds and its kernels by total time, products split by shape.
//
// Run: node --import tsx --import ./bench/kernel-profile.ts bench/vs-trainer-job.ts run --from train --until train --set args.maxSteps=3 …
//      (TUNEKIT_PROFILE_TOP: rows printed, 25 by default; TUNEKIT_PROFILE_ALTERNATE=before,all: the
//      kernel switches of bench/tfjs-speed.ts's variants in turn, one step each, so that the real
//      train node's steps compare the variants under the same load)
import * as tf from '@tensorflow/tfjs-core'
import type { KernelOptions } from '@tunekit/tfjs'
import { performance } from 'node:perf_hooks'

const variants: Record<string, KernelOptions> = {
  before: { heapSlices: false, splitBatchedMatMul: false, fusedHeadLoss: false, inPlaceAdam: false, freeingBackprop: false },
  all: { heapSlices: true, splitBatchedMatMul: true, fusedHeadLoss: true, inPlaceAdam: true, freeingBackprop: true },
}
const alternate = (process.env.TUNEKIT_PROFILE_ALTERNATE ?? '').split(',').filter((v) => v !== '')
// imported only to alternate, so that the preload also profiles a checkout older than the switches
const setKernelOptions = alternate.length > 0 ? (await import('@tunekit/tfjs')).setKernelOptions : undefined
let variant = ''
const summary = new Map<string, Array<{ wall: number; cpu: number }>>()

interface Row {
  count: number
  ms: number
  flops: number
}

const top = Number(process.env.TUNEKIT_PROFILE_TOP ?? 25)
let rows = new Map<string, Row>()
let depth = 0
let stepStart = performance.now()
let cpuStart = process.cpuUsage()
let steps = 0

/** Products keyed by their shapes (the split shows which of attention, projections and the head costs what); other kernels by name. */
function keyOf(name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap | undefined): { key: string; flops: number } {
  if (name !== 'BatchMatMul' && name !== '_FusedMatMul') return { key: name, flops: 0 }
  const a = inputs.a!.shape
  const b = inputs.b!.shape
  const ta = attrs?.transposeA === true
  const tb = attrs?.transposeB === true
  const m = ta ? a.at(-1)! : a.at(-2)!
  const k = ta ? a.at(-2)! : a.at(-1)!
  const n = tb ? b.at(-2)! : b.at(-1)!
  const batch = a.slice(0, -2).reduce((x, d) => x * d, 1)
  return { key: `${name} [${a}]${ta ? 'ᵀ' : ''}·[${b}]${tb ? 'ᵀ' : ''}`, flops: 2 * batch * m * k * n }
}

function report(): void {
  const wall = (performance.now() - stepStart) / 1000
  const cpu = process.cpuUsage(cpuStart)
  const sorted = [...rows.entries()].sort((x, y) => y[1].ms - x[1].ms)
  const kernelMs = sorted.reduce((s, [, r]) => s + r.ms, 0)
  const cpuS = (cpu.user + cpu.system) / 1e6
  if (variant !== '' && steps > 1) summary.set(variant, [...(summary.get(variant) ?? []), { wall, cpu: cpuS }]) // step 1 warms up
  const lines = [`── step ${steps}${variant ? ` (${variant})` : ''}: wall ${wall.toFixed(2)} s, cpu ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s, kernels ${(kernelMs / 1000).toFixed(2)} s`]
  for (const [key, r] of sorted.slice(0, top)) {
    const rate = r.flops > 0 ? `  ${(r.flops / r.ms / 1e6).toFixed(1)} GFLOP/s` : ''
    lines.push(`${((100 * r.ms) / kernelMs).toFixed(1).padStart(5)}%  ${r.ms.toFixed(0).padStart(6)} ms  ×${String(r.count).padEnd(5)} ${key}${rate}`)
  }
  process.stderr.write(lines.join('\n') + '\n')
}

const engine = tf.engine() as unknown as {
  runKernel: (name: string, inputs: tf.NamedTensorInfoMap, attrs?: tf.NamedAttrMap) => unknown
  gradients: (...args: unknown[]) => unknown
}
const runKernel = engine.runKernel.bind(engine)
engine.runKernel = (name, inputs, attrs) => {
  if (depth > 0) return runKernel(name, inputs, attrs)
  depth++
  const t0 = performance.now()
  try {
    return runKernel(name, inputs, attrs)
  } finally {
    depth--
    const { key, flops } = keyOf(name, inputs, attrs)
    const r = rows.get(key) ?? { count: 0, ms: 0, flops: 0 }
    r.count++
    r.ms += performance.now() - t0
    r.flops += flops
    rows.set(key, r)
  }
}
const gradients = engine.gradients.bind(engine)
engine.gradients = (...args) => {
  if (steps > 0) report()
  steps++
  if (alternate.length > 0) {
    variant = alternate[(steps - 1) % alternate.length]!
    setKernelOptions!(variants[variant]!)
  }
  rows = new Map()
  stepStart = performance.now()
  cpuStart = process.cpuUsage()
  return gradients(...args)
}

process.on('exit', () => {
  for (const [v, xs] of summary) {
    const sum = (f: (x: { wall: number; cpu: number }) => number): string => xs.reduce((n, x) => n + f(x), 0).toFixed(2)
    process.stderr.write(`${v}: ${xs.length} steps, wall ${sum((x) => x.wall)} s, cpu ${sum((x) => x.cpu)} s\n`)
  }
})
