// ms per training step of the tfjs backend on issue 21's second job (hidden 256, 4 layers, LoRA r16
// on every linear + saved embed_tokens / lm_head, the 32k Mistral vocabulary, 8 rows of 150–250
// tokens, every real token trained), with each wasm kernel switch off ("before") and on, the
// variants alternated step by step in one process so that they see the same load; medians.
//
// Run: nice -n 10 npx tsx bench/tfjs-speed.ts [repeats=3] [variants=before,slices,batched,all]
import { knownCheckpoints, type ModelConfig } from '@tunekit/core'
import { createRandomModel, createRng, initialAdapter, type LoraSpec } from '@tunekit/hf'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  baseWeightReader, createAdapter, listSource, loadModel, processMemory, selectEngine, setKernelOptions, toTrainBatch, trainLoop,
  type AdapterState, type DecoderModel, type KernelOptions, type TrainBatch,
} from '@tunekit/tfjs'

const config: ModelConfig = {
  ...knownCheckpoints['tunekit/tiny-mistral']!.config,
  hiddenSize: 256, intermediateSize: 688, numHiddenLayers: 4, numAttentionHeads: 8, numKeyValueHeads: 4, headDim: 32,
}
const lora: LoraSpec = { rank: 16, alpha: 32, targetModules: 'all-linear', modulesToSave: ['embed_tokens', 'lm_head'] }

/** The kernel switches of each variant: `before` is the plain tfjs formulation of every kernel. */
const variants: Record<string, KernelOptions> = {
  before: { heapSlices: false, splitBatchedMatMul: false, fusedHeadLoss: false, inPlaceAdam: false, freeingBackprop: false },
  slices: { heapSlices: true, splitBatchedMatMul: false, fusedHeadLoss: false, inPlaceAdam: false, freeingBackprop: false },
  batched: { heapSlices: true, splitBatchedMatMul: true, fusedHeadLoss: false, inPlaceAdam: false, freeingBackprop: false },
  head: { heapSlices: true, splitBatchedMatMul: false, fusedHeadLoss: true, inPlaceAdam: false, freeingBackprop: false },
  memory: { heapSlices: true, splitBatchedMatMul: true, fusedHeadLoss: true, inPlaceAdam: false, freeingBackprop: true },
  all: { heapSlices: true, splitBatchedMatMul: true, fusedHeadLoss: true, inPlaceAdam: true, freeingBackprop: true },
}

const repeats = Number(process.argv[2] ?? 3)
const chosen = (process.argv[3] ?? 'before,slices,batched,all').split(',')

/** 8 rows of 150–250 real tokens (seeded), right-padded to the longest; every real token after the first is a label. */
function jobBatch(): TrainBatch {
  const rng = createRng(0, 'tfjs-speed')
  const lengths = Array.from({ length: 8 }, () => 150 + (rng.nextU32() % 101))
  const length = Math.max(...lengths)
  const n = 8 * length
  const ids = new Int32Array(n)
  const mask = new Uint8Array(n)
  const positions = new Int32Array(n)
  const segments = new Int32Array(n).fill(-1)
  lengths.forEach((len, r) => {
    for (let t = 0; t < len; t++) {
      const i = r * length + t
      ids[i] = 1 + (rng.nextU32() % (config.vocabSize - 1))
      mask[i] = t === 0 ? 0 : 1
      positions[i] = t
      segments[i] = 0
    }
  })
  return toTrainBatch({ rows: 8, length, ids, mask, positions, segments })
}

const settings = {
  learningRate: 1e-4, lrScheduler: 'constant' as const, warmupSteps: 0, maxGradNorm: 1,
  optimizer: { kind: 'adamw' as const, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 },
  seed: 0, gradientCheckpointing: false, logEvery: 1, evalEvery: 'never' as const, saveEvery: 'never' as const,
}

/** One optimizer step under a variant's switches: its ms, the process's CPU ms over it (every thread's), and real tokens. */
async function step(model: DecoderModel, adapter: AdapterState, batch: TrainBatch, options: KernelOptions): Promise<{ ms: number; cpuMs: number; tokens: number }> {
  setKernelOptions(options)
  const cpu = process.cpuUsage()
  let ms = NaN
  let tokens = 0
  await trainLoop({
    model, adapter, source: listSource([[batch]]), settings,
    emit: (e) => {
      if (e.type !== 'step') return
      tokens = batch.segments.filter((s) => s >= 0).length
      ms = (tokens / e.tokensPerSecond) * 1000
    },
  })
  const used = process.cpuUsage(cpu)
  return { ms, cpuMs: (used.user + used.system) / 1000, tokens }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const gb = (bytes: number | undefined): string => (bytes === undefined ? '–' : (bytes / 2 ** 30).toFixed(2))

const engine = await selectEngine('wasm')
const dir = await mkdtemp(join(tmpdir(), 'tk-tfjs-speed-'))
await createRandomModel(dir, { family: 'mistral', config, seed: 0, tokenizer: 'mistral' })
const model = await loadModel(dir)
const base = await baseWeightReader(dir)
const initial = await initialAdapter({ family: 'mistral', config: model.config, lora, seed: 0, baseTensors: base })
await base.close()
const adapter = createAdapter(model, lora, initial)
const batch = jobBatch()
console.error(`${engine.engine} (${engine.reason}); batch ${batch.batch} × ${batch.seq}, ${batch.trained} trained tokens`)

const times: Record<string, number[]> = Object.fromEntries(chosen.map((v) => [v, []]))
const cpus: Record<string, number[]> = Object.fromEntries(chosen.map((v) => [v, []]))
const loads: number[] = []
let tokens = 0
for (const v of chosen) await step(model, adapter, batch, variants[v]!) // warm-up: kernel set-up, XNNPACK weight packing, heap growth
for (let r = 0; r < repeats; r++) {
  for (const v of chosen) {
    loads.push(loadavg()[0]!)
    const s = await step(model, adapter, batch, variants[v]!)
    times[v]!.push(s.ms)
    cpus[v]!.push(s.cpuMs)
    tokens = s.tokens
    console.error(`repeat ${r + 1} ${v}: ${s.ms.toFixed(0)} ms, cpu ${s.cpuMs.toFixed(0)} ms (load ${loadavg()[0]!.toFixed(2)})`)
  }
}
const mem = processMemory()
const first = median(times[chosen[0]!]!)
const firstCpu = median(cpus[chosen[0]!]!)
console.log(`\nload average ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)} (1 min) over ${repeats} alternated repeats; ${tokens} real tokens a step\n`)
console.log('| variant | switches | ms/step (median) | each repeat | cpu ms/step (median) | tokens/s | vs first (wall) | vs first (cpu) |')
console.log('|---|---|---|---|---|---|---|---|')
for (const v of chosen) {
  const m = median(times[v]!)
  const on = Object.entries(variants[v]!).filter(([, x]) => x).map(([k]) => k).join(', ') || 'none'
  const c = median(cpus[v]!)
  console.log(`| ${v} | ${on} | ${m.toFixed(0)} | ${times[v]!.map((t) => t.toFixed(0)).join(' / ')} | ${c.toFixed(0)} | ${((tokens / m) * 1000).toFixed(0)} | ${(first / m).toFixed(2)}× | ${(firstCpu / c).toFixed(2)}× |`)
}
console.log(`\nprocess memory at the end: rss ${gb(mem.rssBytes)} GB, peak rss ${gb(mem.peakRssBytes)} GB, wasm heap ${gb(mem.wasmHeapBytes)} GB, live tensors ${gb(mem.tensorBytes)} GB`)
await rm(dir, { recursive: true, force: true })
