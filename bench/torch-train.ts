// The torch backend's rows for bench/train.ts: each case runs the worker's train node
// (bench/torch-train.py, one Python process per case so peak RSS is the case's own) on a random
// model folder of the same shape as the tfjs rows. Run alone: npx tsx bench/torch-train.ts [--quick] [--record]
// (--record adds the figures to packages/core/throughput.json for `tunekit plan`).
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { families, knownCheckpoints, type ModelConfig } from '@tunekit/core'
import { createRandomModel } from '@tunekit/hf'
import { printRows, recordRows, saveRows, type BenchRow } from './rows.ts'

const here = fileURLToPath(new URL('.', import.meta.url))

export interface TorchBenchCase {
  model: { id: string; config: ModelConfig }
  /** 4-bit rows need CUDA and bitsandbytes; on CPU the worker would load float32 weights, so none are run. */
  quantize: 'nf4' | null
  batchSize: number
  seqLen: number
  steps: number
  device: 'cpu' | 'cuda'
}

/** A row of bench/train.ts's table, from the torch worker. For CPU, peakTensorBytes counts weights +
 * LoRA weights, grads and AdamW moments (torch keeps no CPU count); on CUDA, torch's peak allocated bytes. */
export type TorchBenchRow = BenchRow & { backend: 'torch' }

/** The Python of the worker: TUNEKIT_PYTHON, else the repository's .venv. */
export const benchPython = process.env.TUNEKIT_PYTHON ?? resolve(here, '..', '.venv', 'bin', 'python')

export async function benchTorch(cases: TorchBenchCase[]): Promise<TorchBenchRow[]> {
  if (!existsSync(benchPython)) throw new Error(`no Python for the torch rows at ${benchPython} (set TUNEKIT_PYTHON)`)
  const rows: TorchBenchRow[] = []
  for (const c of cases) {
    const dir = await mkdtemp(join(tmpdir(), 'tk-bench-torch-'))
    try {
      await createRandomModel(join(dir, 'model'), { family: 'mistral', config: c.model.config, seed: 0, tokenizer: 'mistral' })
      const caseFile = join(dir, 'case.json')
      await writeFile(caseFile, JSON.stringify({ modelDir: join(dir, 'model'), batchSize: c.batchSize, seqLen: c.seqLen, steps: c.steps, device: c.device, quantize: c.quantize }))
      const r = spawnSync(benchPython, [join(here, 'torch-train.py'), caseFile], { encoding: 'utf8', env: { ...process.env, HF_HUB_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false' } })
      if (r.status !== 0) throw new Error(`bench/torch-train.py exited ${r.status}:\n${r.stderr.slice(-2000)}`)
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { engine: string; device: string; tokensPerSecond: number; peakTensorBytes: number; peakRssBytes: number }
      rows.push({
        backend: 'torch', engine: out.engine, device: out.device, model: c.model.id, params: families.mistral.totalParams(c.model.config), quantize: c.quantize,
        batchSize: c.batchSize, seqLen: c.seqLen, tokensPerSecond: out.tokensPerSecond, peakTensorBytes: out.peakTensorBytes, peakRssBytes: out.peakRssBytes,
      })
      console.error(`done: ${out.engine} ${c.model.id} ${c.quantize ?? 'lora'}`)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }
  return rows
}

const tiny = { id: 'tunekit/tiny-mistral', config: knownCheckpoints['tunekit/tiny-mistral']!.config }
const small = {
  id: 'tunekit/small-mistral (4 layers, hidden 256)',
  config: { ...tiny.config, hiddenSize: 256, intermediateSize: 688, numHiddenLayers: 4, numAttentionHeads: 8, numKeyValueHeads: 4, headDim: 32 },
}

/** The CPU cases beside tfjs's wasm rows (same shapes, batch 4 × 128). */
export function torchCpuCases(steps: number): TorchBenchCase[] {
  return [tiny, small].map((model) => ({ model, quantize: null, batchSize: 4, seqLen: 128, steps, device: 'cpu' as const }))
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const rows = await benchTorch(torchCpuCases(process.argv.includes('--quick') ? 3 : 6))
  printRows(rows)
  const measuredAt = await saveRows(join(here, 'results'), 'torch-train', rows)
  if (process.argv.includes('--record')) recordRows(rows, measuredAt, 'npx tsx bench/torch-train.ts --record')
}
