import { delimiter, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  compile, costSeconds, countParams, estimateMemory, inline, knownCheckpoints, fitCalibration, formatIssue, nvidiaDriverPresent, plan, processPeakBytes, recordCostModel, runCost, runGraph, runShape,
  familyInfo, trainedParts, type CostCalibration, type ModelConfig, type ParamCounts, type PlanData, type RunShape,
} from '@tunekit/core'
import { tempDir, testExecutors, tinyRecipe } from './helpers.ts'

// The cost model's arithmetic on fixed inputs (plan/cost-model.ts), its fit, and the plan that uses
// a calibration: ETA, process peak and the 4 GiB warning of a tfjs-wasm job. No wall clock here.

const config = { vocabSize: 1000, hiddenSize: 64, numHiddenLayers: 2, numAttentionHeads: 4, headDim: 16 } as ModelConfig
const params = { linear: 100_000, lora: 10_000, doraMagnitudes: 0, trainable: 138_000, trainedInBase: false, addedTokens: 0 } as ParamCounts
const shape: RunShape = { steps: 10, paddedTokens: 5_000, squaredTokens: 250_000, headTokens: 5_000 }

describe('the cost model', () => {
  it('counts the products and element passes of a LoRA run with a trained head and embeddings', () => {
    const cost = runCost(config, params, { head: true, embeddings: true }, shape)
    expect(cost.parts).toEqual({
      linear: 4 * 100_000 * 5_000, // frozen: forward + input gradient
      adapters: 6 * 10_000 * 5_000, // trained: + weight gradient
      attention: 12 * 2 * 4 * 16 * 250_000, // two score products, forward + backward, per layer
      head: 6 * 64_000 * 5_000, // lm_head trained: forward, input and weight gradients
      softmax: 10 * 1_000 * 5_000,
      optimizer: 16 * 138_000 * 10,
      embeddings: 2 * 64_000 * 10, // embed_tokens' dense gradient, zeroed and stepped each step
    })
    expect(cost.matmulFlops).toBe(4.604e9)
    expect(cost.elementOps).toBe(73_360_000)
    // a frozen head costs no weight gradient; frozen embeddings no dense pass
    expect(runCost(config, params, { head: false, embeddings: false }, shape).parts).toMatchObject({ head: 4 * 64_000 * 5_000, embeddings: 0 })
    const cal = { matmulFlopsPerSecond: 2e9, elementsPerSecond: 1e8, startSeconds: 5, rssBaseBytes: 3e8, rssScale: 1.5 } as CostCalibration
    expect(costSeconds(cost, cal)).toBeCloseTo(5 + 2.302 + 0.7336, 9)
    expect(processPeakBytes(1e9, cal)).toBe(1.8e9)
  })

  it('sends only the labelled tokens through the head on tfjs and under torch\'s chunked loss', () => {
    const data: PlanData = { from: 'cache', totalSteps: 10, tokens: 5_000, squaredTokens: 250_000, trainedTokens: 1_200, seqLen: 64 }
    const args = (chunkedLoss: boolean | undefined) => ({ args: { chunkedLoss } }) as Parameters<typeof runShape>[1]
    const text = familyInfo('mistral')
    expect(runShape(data, args(true), 'torch', 'cuda', text)).toEqual({ steps: 10, paddedTokens: 5_000, squaredTokens: 250_000, headTokens: 1_200 })
    // tfjs's loss gathers the labelled rows before the head, chunked or not
    expect(runShape(data, args(undefined), 'tfjs', 'wasm', text).headTokens).toBe(1_200)
    // left out, the worker chunks on the CPU for a text model only
    expect(runShape(data, args(undefined), 'torch', 'cuda', text).headTokens).toBe(5_000)
    expect(runShape(data, args(undefined), 'torch', 'cpu', text).headTokens).toBe(1_200)
    expect(runShape(data, args(undefined), 'torch', 'cpu', familyInfo('qwen2_vl')).headTokens).toBe(5_000)
    expect(runShape(data, args(false), 'torch', 'cpu', text).headTokens).toBe(5_000)
  })

  it('counts one chunk of the labelled tokens\' logits under torch\'s chunked loss, every padded token\'s without it', () => {
    const family = familyInfo('mistral')!
    const tiny = knownCheckpoints['tunekit/tiny-mistral']!.config
    const method = { kind: 'lora', rank: 8, alpha: 16, dropout: 0, targetModules: 'all-linear', modulesToSave: [], trainableTokens: false, rsLora: false, useDora: false, init: 'default' } as unknown as Parameters<typeof countParams>[2]
    const logits = (chunkedLoss: boolean, batchSize: number, dtype: 'float32' | 'bfloat16' = 'float32') => estimateMemory({
      family, config: tiny, params: countParams(family, tiny, method, 0), method, optimizer: 'adamw', batchSize, seqLen: 400, labelledShare: 0.25, chunkedLoss,
      model: { id: 'tiny', family: 'mistral', dtype, gradientCheckpointing: false } as Parameters<typeof estimateMemory>[0]['model'],
      target: { backend: 'torch', device: dtype === 'float32' ? 'cpu' : 'cuda', dtypes: ['float32', 'bfloat16'] },
    }).activationsDetail.logits
    const vocab = tiny.vocabSize
    expect(logits(false, 4)).toBe(4 * 400 * vocab * 12) // logits, their float32 upcast, the log-softmax
    expect(logits(true, 4)).toBe(400 * vocab * 4) // 400 labelled tokens in one chunk, the softmax written over it
    expect(logits(true, 32)).toBe(1024 * vocab * 4) // 3,200 labelled tokens, 1,024 at a time
    expect(logits(true, 4, 'bfloat16')).toBe(400 * vocab * 6) // bfloat16 logits and their float32 copy
  })

  it('recovers the speeds, start-up and RSS line it was measured with', () => {
    const truth = { matmulFlopsPerSecond: 2e10, elementsPerSecond: 1e9, startSeconds: 6, rssBaseBytes: 3e8, rssScale: 1.5 } as CostCalibration
    const sample = (s: RunShape, estimateTotal: number) => {
      const cost = runCost(config, params, { head: true, embeddings: true }, s)
      const stepSeconds = costSeconds(cost, truth) - truth.startSeconds
      return { cost, stepSeconds, seconds: stepSeconds + truth.startSeconds, peakRssBytes: processPeakBytes(estimateTotal, truth), estimateTotal }
    }
    // two shapes in which the two kinds of work weigh differently: long rows, and many short steps
    const fit = fitCalibration([sample(shape, 1e9), sample({ steps: 400, paddedTokens: 2_000, squaredTokens: 20_000, headTokens: 2_000 }, 4e8)])
    expect(fit.matmulFlopsPerSecond / truth.matmulFlopsPerSecond).toBeCloseTo(1, 9)
    expect(fit.elementsPerSecond / truth.elementsPerSecond).toBeCloseTo(1, 9)
    expect(fit.startSeconds).toBeCloseTo(6, 9)
    expect(fit.rssBaseBytes / truth.rssBaseBytes).toBeCloseTo(1, 6)
    expect(fit.rssScale).toBeCloseTo(1.5, 9)
  })
})

describe('a plan with a calibrated backend', () => {
  it('times the run by the cost model, predicts the process peak, and warns when a tfjs-wasm job passes 4 GiB', async () => {
    const root = tempDir('cost-plan')
    const dirs = { cacheDir: join(root, 'cache'), runDir: join(root, 'run'), baseDir: root }
    const recipe = tinyRecipe()
    const graph = await compile(recipe, dirs)
    await runGraph(graph, { recipe, ...dirs, executors: testExecutors().executors, until: 'collate' })
    const throughputFile = join(root, 'throughput.json')
    const cal: CostCalibration = {
      backend: 'tfjs', engine: 'tfjs-wasm', device: 'wasm', matmulFlopsPerSecond: 4e9, elementsPerSecond: 2e8, startSeconds: 3,
      rssBaseBytes: 2e8, rssScale: 2, load: 1, measuredAt: '2026-12-02', bench: 'test',
    }
    recordCostModel(throughputFile, cal)
    const p = plan(graph, { cacheDir: dirs.cacheDir, throughputFile })
    if (p.eta.seconds === null || 'cached' in p.eta || !('config' in p.model) || !p.memory) throw new Error('expected an ETA and a memory estimate')
    const train = graph.nodes.find((n) => n.id === 'train')!.params as unknown as Parameters<typeof trainedParts>[0] & Parameters<typeof runShape>[1]
    const cost = runCost(p.model.config, p.model.params, trainedParts(train), runShape(p.data, train, 'tfjs', 'wasm', familyInfo(p.model.family)))
    expect(p.eta.seconds).toBeCloseTo(costSeconds(cost, cal), 9)
    expect(p.eta.how).toBe('cost model of tfjs-wasm: 4.0 GFLOP/s, 0.20 G element passes/s, 3 s start-up (test, 2026-12-02)')
    expect(p.memory.process?.bytes).toBeCloseTo(2e8 + 2 * p.memory.total, 0)
    expect(p.issues.filter((i) => i.severity === 'warning')).toEqual([])

    // a job whose own shape passes WebAssembly's 32-bit heap (32 rows of 2,048 tokens: eager
    // attention keeps [rows, heads, s, s] scores), planned only: nothing is allocated
    const longRows = await compile(tinyRecipe({ data: { source: inline([{ prompt: 'a', response: 'b' }]), format: { kind: 'columns', prompt: 'prompt', response: 'response' }, maxLength: 2048 }, args: { batchSize: 32, epochs: 1, learningRate: 0.1 } }), dirs)
    const big = plan(longRows, { cacheDir: dirs.cacheDir, throughputFile })
    const warnings = big.issues.filter((i) => i.severity === 'warning')
    expect(big.memory!.total).toBeGreaterThan(2 ** 32)
    expect(warnings.map((i) => formatIssue(i)).join('\n')).toMatchInlineSnapshot(`
      "⚠ TK667 the plan puts the training process's peak at 26.49 GB, and tfjs-backend-wasm's memory is a 32-bit WebAssembly heap that cannot grow past 4 GiB, so the run would stop with an out-of-memory error part-way → at args.batchSize
        value: 32
        fix: Lower args.batchSize or data.maxLength, train fewer modules (lora.modulesToSave), or run it on the torch backend (backend: 'torch')."
    `)

    // torch with device 'auto' where the machine shows no NVIDIA driver: the CPU, decided without
    // Python, so torch-cpu's cost model gives the ETA; with a driver, CUDA is assumed as before
    recordCostModel(throughputFile, { ...cal, backend: 'torch', engine: 'torch-cpu', device: 'cpu' })
    const torchGraph = await compile(tinyRecipe({ backend: 'torch' }), dirs)
    const cpu = plan(torchGraph, { cacheDir: dirs.cacheDir, throughputFile, nvidiaDriver: false })
    expect([cpu.backend.engine, cpu.backend.reason]).toEqual(['torch-cpu', "not probed: torch on the CPU, from device 'auto' on a machine with no NVIDIA driver (no /proc/driver/nvidia/version and no nvidia-smi on PATH)"])
    expect(cpu.eta.seconds).toBeCloseTo(costSeconds(runCost(p.model.config, p.model.params, trainedParts(train), runShape(p.data, train, 'torch', 'cpu', familyInfo(p.model.family))), cal), 9)
    const cuda = plan(torchGraph, { cacheDir: dirs.cacheDir, throughputFile, nvidiaDriver: true })
    expect([cuda.backend.engine, cuda.eta.seconds]).toEqual(['torch-cuda', null])
    const pinned = plan(await compile(tinyRecipe({ backend: 'torch', device: 'cpu' }), dirs), { cacheDir: dirs.cacheDir, throughputFile, nvidiaDriver: true })
    expect([pinned.backend.engine, pinned.backend.reason]).toEqual(['torch-cpu', "not probed: torch on the CPU, from device 'cpu'"])
  })
})

describe('the NVIDIA driver check', () => {
  it('looks for the driver\'s /proc entry and for nvidia-smi on PATH, nothing else', () => {
    const files = (...present: string[]) => (path: string) => present.includes(path)
    expect(nvidiaDriverPresent({ PATH: ['/usr/bin', '/bin'].join(delimiter) }, files())).toBe(false)
    expect(nvidiaDriverPresent({}, files('/proc/driver/nvidia/version'))).toBe(true)
    expect(nvidiaDriverPresent({ PATH: ['/usr/bin', '/opt/nv/bin'].join(delimiter) }, files('/opt/nv/bin/nvidia-smi'))).toBe(true)
    expect(nvidiaDriverPresent({ PATH: '' }, files('nvidia-smi'))).toBe(false)
  })
})
