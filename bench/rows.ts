// The throughput table both training benches print, save and record (bench/train.ts for every
// backend, bench/torch-train.ts for the torch worker alone).
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { defaultThroughputFile, recordThroughput } from '@tunekit/core'

/** One measured row of the table. */
export interface BenchRow {
  backend: 'tfjs' | 'torch'
  engine: string
  device: string
  model: string
  params: number
  quantize: string | null
  batchSize: number
  seqLen: number
  /** Padded tokens (rows × length) through forward + backward + optimizer step, per second. */
  tokensPerSecond: number
  /** Peak bytes of the engine's tensors plus packed quantised weights. */
  peakTensorBytes: number
  /** Peak resident set size of the process. */
  peakRssBytes: number
}

const mb = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MB`

/** Prints the rows as a Markdown table. */
export function printRows(rows: readonly BenchRow[]): void {
  console.log('| backend | engine | model | params | weights | batch × len | tokens/s | peak tensors | peak RSS |')
  console.log('|---|---|---|---|---|---|---|---|---|')
  for (const r of rows) {
    console.log(`| ${r.backend} | ${r.engine} | ${r.model} | ${(r.params / 1e6).toFixed(1)}M | ${r.quantize ?? 'float32'} + LoRA | ${r.batchSize} × ${r.seqLen} | ${r.tokensPerSecond.toFixed(0)} | ${mb(r.peakTensorBytes)} | ${mb(r.peakRssBytes)} |`)
  }
}

/** Writes the rows to `<resultsDir>/<name>.json` and returns the date they were measured. */
export async function saveRows(resultsDir: string, name: string, rows: readonly BenchRow[]): Promise<string> {
  const measuredAt = new Date().toISOString().slice(0, 10)
  await mkdir(resultsDir, { recursive: true })
  await writeFile(join(resultsDir, `${name}.json`), `${JSON.stringify({ measuredAt, rows }, null, 2)}\n`)
  return measuredAt
}

/** Records each row in the throughput file `tunekit plan` reads for its ETA (TUNEKIT_THROUGHPUT overrides). */
export function recordRows(rows: readonly BenchRow[], measuredAt: string, bench: string): void {
  const file = process.env.TUNEKIT_THROUGHPUT ? resolve(process.env.TUNEKIT_THROUGHPUT) : defaultThroughputFile()
  for (const r of rows) {
    recordThroughput(file, {
      backend: r.backend, engine: r.engine, device: r.device, model: r.model, params: r.params, quantize: r.quantize,
      batchSize: r.batchSize, seqLen: r.seqLen, tokensPerSecond: r.tokensPerSecond, measuredAt, bench,
    })
  }
}
