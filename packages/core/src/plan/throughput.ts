import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeFileAtomicSync } from '../fs/atomic.ts'
import type { CostCalibration } from './cost-model.ts'

// Throughput figures measured by the benchmarks (bench/README.md), shipped in @tunekit/core's
// throughput.json, and read by `plan` for its ETA.

/** One measured training throughput: padded tokens (rows × length) through forward + backward per second. */
export interface ThroughputFigure {
  backend: 'tfjs' | 'torch'
  /** Engine actually used, e.g. `tfjs-wasm`, `torch-cuda`. */
  engine: string
  device: string
  /** Model id benchmarked. */
  model: string
  /** Its base parameter count; figures for other sizes scale by params (compute ∝ 6 · params per token). */
  params: number
  quantize?: string | null
  batchSize: number
  seqLen: number
  tokensPerSecond: number
  /** ISO date of the measurement. */
  measuredAt: string
  /** The command that measured it. */
  bench: string
}

export interface ThroughputFile {
  version: 1
  figures: ThroughputFigure[]
  /** Per backend and device, the cost model's speeds (cost-model.ts); the ETA prefers them to a figure. */
  costModels?: CostCalibration[]
}

/**
 * The figures shipped with @tunekit/core (`throughput.json` at the package root, written by the
 * benchmarks under bench/), or `TUNEKIT_THROUGHPUT`. The same relative path works from `src/plan/`
 * and from the published `dist/plan/`.
 */
export function defaultThroughputFile(env: Record<string, string | undefined> = process.env): string {
  if (env.TUNEKIT_THROUGHPUT) return resolve(env.TUNEKIT_THROUGHPUT)
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../throughput.json')
}

export function readThroughput(file: string): ThroughputFile {
  if (!existsSync(file)) return { version: 1, figures: [] }
  const json = JSON.parse(readFileSync(file, 'utf8')) as Partial<ThroughputFile>
  return { version: 1, figures: Array.isArray(json.figures) ? json.figures : [], ...(Array.isArray(json.costModels) ? { costModels: json.costModels } : {}) }
}

/** Adds or replaces the calibration of a backend, engine and device (bench/vs-trainer.ts --record). */
export function recordCostModel(file: string, cal: CostCalibration): void {
  const data = readThroughput(file)
  data.costModels = [...(data.costModels ?? []).filter((c) => !(c.backend === cal.backend && c.engine === cal.engine && c.device === cal.device)), cal]
  mkdirSync(dirname(file), { recursive: true })
  writeFileAtomicSync(file, `${JSON.stringify(data, null, 2)}\n`)
}

/** The calibration for a backend and device, if the benches measured one. */
export const pickCostModel = (file: ThroughputFile, backend: string, device: string): CostCalibration | null =>
  file.costModels?.find((c) => c.backend === backend && c.device === device) ?? null

/**
 * Adds or replaces a figure (same backend, engine, device, model, quantize, batch and length) and
 * writes the file through a temp file and a rename. Benchmarks call this.
 */
export function recordThroughput(file: string, figure: ThroughputFigure): void {
  const data = readThroughput(file)
  const same = (f: ThroughputFigure): boolean =>
    f.backend === figure.backend && f.engine === figure.engine && f.device === figure.device && f.model === figure.model &&
    (f.quantize ?? null) === (figure.quantize ?? null) && f.batchSize === figure.batchSize && f.seqLen === figure.seqLen
  data.figures = [...data.figures.filter((f) => !same(f)), figure]
  mkdirSync(dirname(file), { recursive: true })
  writeFileAtomicSync(file, `${JSON.stringify(data, null, 2)}\n`)
}

/** The figure an ETA uses, scaled to the model planned. */
export interface ThroughputPick {
  figure: ThroughputFigure
  /** tokens/s expected for the planned model. */
  tokensPerSecond: number
  /** How the figure was adapted, for the plan's notes. */
  how: string
}

/**
 * Picks the figure for a backend and device: the same model if measured, else the nearest size,
 * scaled by `figure.params / params` (per-token compute grows linearly with parameters).
 */
export function pickThroughput(file: ThroughputFile, backend: string, device: string, model: string, params: number, quantize: string | null): ThroughputPick | null {
  const candidates = file.figures.filter((f) => f.backend === backend && f.device === device && f.tokensPerSecond > 0)
  if (candidates.length === 0) return null
  const score = (f: ThroughputFigure): number =>
    (f.model === model ? 0 : 10) + ((f.quantize ?? null) === quantize ? 0 : 5) + Math.abs(Math.log(f.params / params))
  const figure = [...candidates].sort((a, b) => score(a) - score(b))[0]!
  if (figure.model === model) return { figure, tokensPerSecond: figure.tokensPerSecond, how: `measured on ${figure.model}` }
  const tokensPerSecond = (figure.tokensPerSecond * figure.params) / params
  return { figure, tokensPerSecond, how: `scaled from ${figure.model} (${(figure.params / 1e6).toFixed(1)}M params) by parameter count` }
}
