// Training throughput and peak memory of the backends on a tiny and a small model, with LoRA and
// with NF4 (QLoRA). Prints a table, writes bench/results/train.json and records each figure in
// packages/core/throughput.json (what `tunekit plan` reads for its ETA).
//
// Run: npx tsx bench/train.ts [--quick]
// Rows come from one function per backend (`benches`): a backend adds its own function.
import { families, knownCheckpoints, type ModelConfig } from '@tunekit/core'
import { createRandomModel, createRng, initialAdapter, type LoraSpec } from '@tunekit/hf'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { printRows, recordRows, saveRows, type BenchRow } from './rows.ts'
import { benchTorch, torchCpuCases } from './torch-train.ts'
import {
  baseWeightReader, createAdapter, disposeAdapter, disposeModel, listSource, loadModel, modelBytes, selectEngine, toTrainBatch, trainLoop,
  type DeviceRequest, type TrainBatch,
} from '@tunekit/tfjs'

/** One benchmark case: a model shape, a batch shape and whether the base is quantised. */
interface BenchCase {
  model: 'tiny' | 'small'
  quantize: 'nf4' | null
  batchSize: number
  seqLen: number
  steps: number
}

const here = fileURLToPath(new URL('.', import.meta.url))
const quick = process.argv.includes('--quick')

/** Model shapes: both on the real 32k Mistral vocabulary. */
const shapes: Record<BenchCase['model'], { id: string; config: ModelConfig }> = {
  tiny: { id: 'tunekit/tiny-mistral', config: knownCheckpoints['tunekit/tiny-mistral']!.config },
  small: {
    id: 'tunekit/small-mistral (4 layers, hidden 256)',
    config: { ...knownCheckpoints['tunekit/tiny-mistral']!.config, hiddenSize: 256, intermediateSize: 688, numHiddenLayers: 4, numAttentionHeads: 8, numKeyValueHeads: 4, headDim: 32 },
  },
}

const lora: LoraSpec = { rank: 8, alpha: 16, targetModules: 'all-linear' }

function randomBatches(c: BenchCase, vocab: number): TrainBatch[][] {
  const rng = createRng(0, 'bench')
  const n = c.batchSize * c.seqLen
  return Array.from({ length: c.steps }, () => {
    const ids = Int32Array.from({ length: n }, () => rng.nextU32() % vocab)
    const mask = Uint8Array.from({ length: n }, (_, i) => (i % c.seqLen === 0 ? 0 : 1))
    const positions = Int32Array.from({ length: n }, (_, i) => i % c.seqLen)
    return [toTrainBatch({ rows: c.batchSize, length: c.seqLen, ids, mask, positions, segments: new Int32Array(n) })]
  })
}

/** The tfjs rows: each case on each engine asked for. */
async function benchTfjs(cases: BenchCase[], devices: DeviceRequest[]): Promise<BenchRow[]> {
  const rows: BenchRow[] = []
  for (const device of devices) {
    const engine = await selectEngine(device)
    for (const c of cases) {
      const shape = shapes[c.model]
      const dir = await mkdtemp(join(tmpdir(), 'tk-bench-'))
      await createRandomModel(dir, { family: 'mistral', config: shape.config, seed: 0, tokenizer: 'mistral' })
      const model = await loadModel(dir, c.quantize ? { quantize: { type: c.quantize, doubleQuant: true } } : {})
      const base = await baseWeightReader(dir)
      const initial = await initialAdapter({ family: 'mistral', config: model.config, lora, seed: 0, baseTensors: base })
      await base.close()
      const adapter = createAdapter(model, lora, initial)
      const host = modelBytes(model).quantizedBytes
      let peakRss = 0
      let firstStepEnd = 0
      const settings = {
        learningRate: 1e-4, lrScheduler: 'constant' as const, warmupSteps: 0, maxGradNorm: 1,
        optimizer: { kind: 'adamw' as const, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 },
        seed: 0, gradientCheckpointing: false, logEvery: 1, evalEvery: 'never' as const, saveEvery: 'never' as const,
      }
      const result = await trainLoop({
        model, adapter, source: listSource(randomBatches(c, shape.config.vocabSize)), settings, hostBytes: host,
        emit: (e) => {
          peakRss = Math.max(peakRss, process.memoryUsage().rss)
          if (e.type === 'step' && e.step === 1) firstStepEnd = performance.now()
        },
      })
      // The first step warms the engine up (kernel setup, allocations): time the others.
      const seconds = (performance.now() - firstStepEnd) / 1000
      rows.push({
        backend: 'tfjs', engine: engine.engine, device: engine.device, model: shape.id, params: families.mistral.totalParams(shape.config),
        quantize: c.quantize, batchSize: c.batchSize, seqLen: c.seqLen, tokensPerSecond: ((c.steps - 1) * c.batchSize * c.seqLen) / seconds,
        peakTensorBytes: result.peakBytes, peakRssBytes: peakRss,
      })
      console.error(`done: ${engine.engine} ${c.model} ${c.quantize ?? 'lora'}`)
      disposeAdapter(adapter)
      disposeModel(model)
      await rm(dir, { recursive: true, force: true })
    }
  }
  return rows
}

/** Benchmarks by backend; the torch backend adds `torch: (cases) => …` here. */
const benches: Record<string, () => Promise<BenchRow[]>> = {
  tfjs: async () => {
    const cases = (batchSize: number, seqLen: number, steps: number): BenchCase[] =>
      (['tiny', 'small'] as const).flatMap((model) => [null, 'nf4' as const].map((quantize) => ({ model, quantize, batchSize, seqLen, steps })))
    // The pure-JS cpu engine is ~30x slower than wasm: fewer, shorter steps keep it to minutes.
    return [...(await benchTfjs(cases(4, 128, quick ? 3 : 6), ['wasm'])), ...(await benchTfjs(cases(2, 64, 3), ['cpu']))]
  },
  // The torch worker on CPU, float32 LoRA, same shapes and batch as the wasm rows (bench/torch-train.ts).
  torch: () => benchTorch(torchCpuCases(quick ? 3 : 6)),
}

const rows: BenchRow[] = []
for (const [name, run] of Object.entries(benches)) {
  try {
    rows.push(...(await run()))
  } catch (e) {
    console.error(`${name}: ${(e as Error).message}`)
  }
}
printRows(rows)
recordRows(rows, await saveRows(join(here, 'results'), 'train', rows), 'npx tsx bench/train.ts')
