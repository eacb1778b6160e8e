// The trained lm_head's three products of issue 21's second job (1552 targets, hidden 256, the 32k
// vocabulary in blocks) in each orientation XNNPACK can take without transpose flags, alternated
// in one process so that they see the same load; CPU ms (every thread's) and wall ms, medians.
//
// Run: nice -n 10 npx tsx bench/head-products.ts [repeats=3] [block=4000]   (TUNEKIT_WASM_THREADS=2: the pool)
import { selectEngine } from '@tunekit/tfjs'
import * as tf from '@tensorflow/tfjs-core'
import { loadavg } from 'node:os'

const repeats = Number(process.argv[2] ?? 3)
const block = Number(process.argv[3] ?? 4000)
const [n, h, vocab] = [1552, 256, 32000]
const engine = await selectEngine('wasm')
console.error(`${engine.engine} (${engine.reason}); n ${n}, hidden ${h}, vocab ${vocab} in blocks of ${block}`)

const blocks = Math.ceil(vocab / block)
const x = tf.randomNormal([n, h]) as tf.Tensor2D
const xT = tf.transpose(x) as tf.Tensor2D
const rows = Array.from({ length: blocks }, () => tf.randomNormal([block, h]) as tf.Tensor2D) // w blocks [block, h]
const columns = rows.map((r) => tf.transpose(r) as tf.Tensor2D) // [h, block]
const g = tf.randomNormal([n, block]) as tf.Tensor2D // a block's d loss / d logits
const gT = tf.transpose(g) as tf.Tensor2D

/** Each way of computing one of the three products over all blocks; every result is disposed. */
const ways: Record<string, () => void> = {
  'logits = x · wᵀ_block': () => columns.forEach((c) => tf.matMul(x, c).dispose()),
  'logits = (w_block · xᵀ)ᵀ': () => rows.forEach((r) => tf.tidy(() => tf.transpose(tf.matMul(r, xT))).dispose()),
  'dx += g · w_block': () => rows.forEach((r) => tf.matMul(g, r).dispose()),
  'dxᵀ += w_blockᵀ · gᵀ': () => columns.forEach((c) => tf.matMul(c, gT).dispose()),
  'transpose g': () => rows.forEach(() => tf.transpose(g).dispose()),
  'dw = (xᵀ · g)ᵀ': () => rows.forEach(() => tf.tidy(() => tf.transpose(tf.matMul(xT, g))).dispose()),
  'dw = gᵀ · x': () => rows.forEach(() => tf.tidy(() => tf.matMul(tf.transpose(g), x)).dispose()),
}

const wall: Record<string, number[]> = {}
const cpu: Record<string, number[]> = {}
for (const f of Object.values(ways)) f() // warm-up: heap growth, operator set-up
const loads: number[] = []
for (let r = 0; r < repeats; r++) {
  for (const [name, f] of Object.entries(ways)) {
    loads.push(loadavg()[0]!)
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    f()
    const used = process.cpuUsage(c0)
    ;(wall[name] ??= []).push(performance.now() - t0)
    ;(cpu[name] ??= []).push((used.user + used.system) / 1000)
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const flops = 2 * n * h * vocab
console.log(`\nload average ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}; ${engine.reason}; blocks of ${block}; each product ${(flops / 1e9).toFixed(1)} GFLOP\n`)
console.log('| product | wall ms (median) | cpu ms (median) | GFLOP/s (wall) |')
console.log('|---|---|---|---|')
for (const name of Object.keys(ways)) {
  const w = median(wall[name]!)
  console.log(`| ${name} | ${w.toFixed(0)} | ${median(cpu[name]!).toFixed(0)} | ${(flops / w / 1e6).toFixed(1)} |`)
}
