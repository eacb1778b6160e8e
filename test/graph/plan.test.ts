import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { compile, defaultThroughputFile, defineRecipe, formatPlan, hub, plan, readThroughput, recordThroughput, runGraph, type BackendCapabilities, type Plan } from '@tunekit/core'
import { tempDir, testExecutors, tinyRecipe } from './helpers.ts'

// The shipped recipes/mistral-oasst.ts (the qlora-minimal tutorial config), written out in full.
const mistral = defineRecipe({
  name: 'mistral-oasst',
  model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral', dtype: 'bfloat16', quantize: { bits: 4, type: 'nf4', computeDtype: 'bfloat16' }, gradientCheckpointing: true },
  tokens: { chatml: true, pad: '</s>' },
  lora: { rank: 64, alpha: 16, dropout: 0.1, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], modulesToSave: ['lm_head', 'embed_tokens'] },
  data: { source: hub('OpenAssistant/oasst_top1_2023-08-25'), format: 'chatml-text', maxLength: 512, mask: 'all', split: { evalSplit: 'test' } },
  args: { batchSize: 16, epochs: 3, learningRate: 2e-4, lrScheduler: 'constant', optimizer: 'paged_adamw_32bit', groupByLength: true },
})

const a100: { name: 'torch'; capabilities: BackendCapabilities } = {
  name: 'torch',
  capabilities: { engine: 'torch-cuda', device: 'cuda', reason: 'CUDA 12 device found', dtypes: ['float32', 'float16', 'bfloat16'], quantize: ['nf4', 'fp4', 'int8'], memoryBytes: 40e9 },
}

const within = (actual: number, expected: number, tolerance: number): boolean => Math.abs(actual - expected) / expected <= tolerance

async function planOf(recipe: Parameters<typeof compile>[0], backend = a100): Promise<Plan> {
  const root = tempDir('plan')
  const env = { HF_HOME: join(root, 'no-hf') } // no weights, no dataset on this machine
  const cacheDir = join(root, 'cache')
  return plan(await compile(recipe, { baseDir: root, cacheDir, env }), { cacheDir, backend, throughputFile: join(root, 'throughput.json') })
}

describe('plan for the Mistral QLoRA recipe, without weights', () => {
  it('estimates ≈ 4 GB of NF4 weights for 7B, within 15% of the QLoRA figures', async () => {
    const p = await planOf(mistral)
    const m = p.memory!
    // QLoRA §3: NF4 is 4 bits + one fp32 absmax per 64 weights = 4.5 bits per quantised weight.
    expect(m.weightsDetail.bitsPerQuantizedParam).toBe(4.5)
    expect(m.weightsDetail.quantizedParams).toBe(6_979_321_856) // the 7 projections × 32 layers
    expect(within(m.weightsDetail.quantizedBytes, 7e9 * 4.5 / 8, 0.15)).toBe(true)
    expect(within(m.weights, 4e9, 0.15)).toBe(true) // ≈ 4 GB, embeddings and lm_head in bf16 included
    expect(m.weightsDetail.dtype).toBe('bfloat16')
  })

  it('counts trainable parameters from the family registry', async () => {
    const p = await planOf(mistral)
    if (!('params' in p.model)) throw new Error(p.model.reason)
    expect(p.model.source).toBe('known')
    const { params } = p.model
    // r × (in + out) per module per layer: 64 × (2·8192 + 2·5120 + 3·18432) × 32
    expect(params.lora).toBe(167_772_160)
    expect(params.modulesToSave).toBe(2 * 32_002 * 4096) // two ChatML tokens added to the 32k vocabulary
    expect(params.trainable).toBe(429_932_544)
    expect(params.base).toBe(7_241_748_480) // published 7,241,732,096 + 2 × 2 × 4096 rows
    const m = p.memory!
    expect(m.adapters).toBe(params.trainable * 4)
    expect(m.gradients).toBe(params.trainable * 4)
    expect(m.optimizer).toBe(params.trainable * 8) // AdamW: two fp32 moments
    expect(m.optimizerDetail.paged).toBe(true)
    expect(m.activationsDetail.used).toBe('with')
    expect(m.activationsDetail.attention).toBe('sdpa')
    expect(m.activationsDetail.withoutCheckpointing).toBeGreaterThan(8 * m.activationsDetail.withCheckpointing)
    expect(m.total).toBe(m.weights + m.adapters + m.gradients + m.optimizer + m.activations)
    expect(m.fits).toBe(true) // ≈ 19 GB on a 40 GB A100
  })

  it('agrees with the measured footprint of Llama-2-7B in NF4 with double quantisation', async () => {
    const llama = defineRecipe({
      model: { id: 'meta-llama/Llama-2-7b-hf', family: 'llama', dtype: 'bfloat16', quantize: { bits: 4, type: 'nf4', doubleQuant: true } },
      data: { source: hub('OpenAssistant/oasst_top1_2023-08-25'), format: 'chatml-text' },
    })
    const m = (await planOf(llama)).memory!
    expect(m.weightsDetail.bitsPerQuantizedParam).toBeCloseTo(4.127, 3) // QLoRA §3: 0.127 bits of constants
    expect(within(m.weights, 3.6 * 2 ** 30, 0.15)).toBe(true) // 3.60 GiB reported after loading (see docs/memory-planning.md)
  })

  it('prints the plan for a terminal and as JSON', async () => {
    const p = await planOf(mistral)
    const text = formatPlan(p)
    expect(text).toMatch(/^plan: mistral-oasst\nbackend: torch \(torch-cuda, cuda\) — CUDA 12 device found\n/)
    expect(text).toMatch(/○ train +to run/)
    expect(text).toContain('trainable: 429.93M of 7.67B (5.60%): LoRA 167.77M, saved modules 262.16M')
    expect(text).toMatch(/ {2}weights {6}4\.45 GB +nf4 4\.500 bits × 6\.98B = 3\.93 GB, rest bfloat16 524\.9 MB/)
    expect(text).toMatch(/ {2}optimizer {4}3\.44 GB +8 bytes\/param \(paged\)/)
    expect(text).toMatch(/ {2}total +\d+\.\d\d GB of 40\.00 GB/)
    expect(text).toContain('ETA: unknown (token count unknown until the data nodes run)')
    expect(JSON.parse(JSON.stringify(p))).toEqual(p)
  })
})

describe('plan for a model it knows nothing about', () => {
  it('says why there is no memory estimate instead of guessing', async () => {
    const unknown = defineRecipe({ model: { id: 'acme/secret-13b', family: 'llama' }, data: { source: hub('acme/chats'), format: 'chatml-text' } })
    const p = await planOf(unknown)
    expect(p.memory).toBeNull()
    expect(p.model).toEqual({ id: 'acme/secret-13b', reason: 'acme/secret-13b is neither on this machine nor a checkpoint tunekit knows; give model.path or run once with the weights present' })
    expect(formatPlan(p)).toContain('ETA: unknown (model size unknown)')
  })
})

describe('plan after the data nodes ran', () => {
  it('shows cached nodes, their figures, the steps and an ETA from a throughput figure', async () => {
    const root = tempDir('plan')
    const dirs = { cacheDir: join(root, 'cache'), runDir: join(root, 'run'), baseDir: root }
    const recipe = tinyRecipe()
    const graph = await compile(recipe, dirs)
    await runGraph(graph, { recipe, ...dirs, executors: testExecutors().executors, until: 'collate' })
    const throughputFile = join(root, 'throughput.json')
    const reported = plan(graph, {
      cacheDir: dirs.cacheDir, throughputFile,
      backend: { name: 'tfjs', capabilities: { engine: 'tfjs-cpu', device: 'cpu', reason: 'pure JS', dtypes: ['float32'], quantize: [], throughput: { tokensPerSecondPerBillionParams: 20 } } },
    })
    if (reported.eta.seconds === null || 'cached' in reported.eta || !('params' in reported.model)) throw new Error('expected an ETA from the backend figure')
    expect(reported.eta.tokensPerSecond).toBeCloseTo(20 / (reported.model.params.base / 1e9), 9)
    const before = plan(graph, { cacheDir: dirs.cacheDir, throughputFile })
    // Not probed: tfjs with device 'auto' is assumed to get wasm, the first engine that always loads.
    expect(before.backend).toMatchObject({ name: 'tfjs', engine: 'tfjs-wasm', device: 'wasm', assumed: true })
    expect(before.nodes.map((n) => n.status)).toEqual(['cached', 'cached', 'cached', 'cached', 'cached', 'cached', 'to run', 'to run', 'to run'])
    expect(before.nodes[3]!.figures).toMatchObject({ samples: 12, truncated: 0 })
    expect(before.nodes[4]!.figures).toEqual({ trainSamples: 10, evalSamples: 2 })
    expect(before.data).toMatchObject({ from: 'cache', trainSamples: 10, stepsPerEpoch: 5, totalSteps: 10 })
    expect(before.eta).toEqual({ seconds: null, reason: `no throughput figure for tfjs on wasm in ${throughputFile}; run the benchmarks (bench/README.md)` })

    recordThroughput(throughputFile, {
      backend: 'tfjs', engine: 'tfjs-wasm', device: 'wasm', model: 'tunekit/tiny-mistral', params: 4_200_000, quantize: null,
      batchSize: 2, seqLen: 64, tokensPerSecond: 500, measuredAt: '2026-11-22', bench: 'test',
    })
    const after = plan(graph, { cacheDir: dirs.cacheDir, throughputFile })
    if (after.eta.seconds === null || 'cached' in after.eta) throw new Error('expected an ETA from the throughput file')
    expect(after.eta.tokensPerSecond).toBe(500)
    expect(after.eta.seconds).toBeCloseTo(after.data.tokens! / 500, 6)
    expect(formatPlan(after)).toMatch(/ETA: \d+s at 500 tokens\/s \(measured on tunekit\/tiny-mistral\)/)

    // Once train is cached there is nothing left to time.
    await runGraph(graph, { recipe, ...dirs, executors: testExecutors().executors, until: 'train' })
    const trained = plan(graph, { cacheDir: dirs.cacheDir, throughputFile })
    expect(trained.eta).toEqual({ seconds: 0, cached: true })
    expect(formatPlan(trained)).toContain('ETA: nothing to train (train is cached)')
  })
})

describe('throughput figures', () => {
  it('ship inside @tunekit/core, where the published package finds them too', () => {
    const file = defaultThroughputFile({})
    expect(file).toBe(join(dirname(fileURLToPath(import.meta.resolve('@tunekit/core/package.json'))), 'throughput.json'))
    const figures = readThroughput(file).figures
    expect(new Set(figures.map((f) => f.backend))).toEqual(new Set(['tfjs', 'torch']))
    const files = (JSON.parse(readFileSync(fileURLToPath(import.meta.resolve('@tunekit/core/package.json')), 'utf8')) as { files: string[] }).files
    expect(files).toContain('throughput.json')
  })
})
