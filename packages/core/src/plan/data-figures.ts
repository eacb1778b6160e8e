import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { artifactDir, isCached } from '../cache/store.ts'
import type { BatchPlan } from '../graph/batch-plan.ts'
import type { Graph, GraphNode } from '../graph/types.ts'

// What the data nodes already know, read from their cached artifacts (docs/architecture.md):
// source.json, format.json, report.json, the shard index.json files and the batch plan.json.

/** Numbers of a node's report files, flattened one level (`stats.tokens`). */
export type Figures = Record<string, number>

const readJson = (file: string): Record<string, unknown> | null => {
  if (!existsSync(file)) return null
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
  } catch {
    return null
  }
}

function numbersOf(json: Record<string, unknown> | null, prefix = ''): Figures {
  const out: Figures = {}
  if (!json) return out
  for (const [k, v] of Object.entries(json)) {
    if (typeof v === 'number' && Number.isFinite(v)) out[`${prefix}${k}`] = v
    else if (!prefix && v && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, numbersOf(v as Record<string, unknown>, `${k}.`))
  }
  return out
}

const REPORT_FILES: Record<string, string[]> = {
  source: ['source.json'],
  format: ['format.json'],
  tokenize: ['report.json'],
  split: [],
  collate: [],
}

/** Batch plan fields the planner uses, and two it derives from the epochs' plans. */
export type BatchPlanFigures = Pick<BatchPlan, 'seqLen' | 'microBatchSize' | 'gradientAccumulationSteps' | 'stepsPerEpoch' | 'totalSteps' | 'epochs'> &
  Partial<Pick<BatchPlan, 'paddingEfficiency'>> & {
    /** Mean padded tokens (rows × length) of a micro-batch, from the epochs' plans. */
    meanMicroBatchTokens?: number
    /** Longest micro-batch length: what sets activation memory. */
    maxMicroBatchLength?: number
    /** Mean rows × length² of a micro-batch (attention's products grow with it). */
    meanMicroBatchSquares?: number
    trainedTokensPerEpoch?: number
  }

export function readBatchPlan(dir: string): BatchPlanFigures | null {
  const plan = readJson(join(dir, 'plan.json'))
  if (!plan || typeof plan.stepsPerEpoch !== 'number') return null
  const out = plan as unknown as Partial<BatchPlan> & BatchPlanFigures
  const micro = (out.epochsPlan ?? []).flatMap((e) => e.microBatches ?? [])
  const figures: BatchPlanFigures = {
    seqLen: out.seqLen, microBatchSize: out.microBatchSize, gradientAccumulationSteps: out.gradientAccumulationSteps,
    stepsPerEpoch: out.stepsPerEpoch, totalSteps: out.totalSteps, epochs: out.epochs,
  }
  if (typeof out.paddingEfficiency === 'number') figures.paddingEfficiency = out.paddingEfficiency
  if (typeof out.trainedTokensPerEpoch === 'number') figures.trainedTokensPerEpoch = out.trainedTokensPerEpoch
  if (micro.length > 0) {
    figures.meanMicroBatchTokens = micro.reduce((sum, m) => sum + m.length * m.rows.length, 0) / micro.length
    figures.maxMicroBatchLength = Math.max(...micro.map((m) => m.length))
    figures.meanMicroBatchSquares = micro.reduce((sum, m) => sum + m.length * m.length * m.rows.length, 0) / micro.length
  }
  return figures
}

/** Figures of one cached data node; empty for a node that is not cached or reports nothing. */
export function nodeFigures(node: GraphNode, cacheDir: string): Figures {
  if (!isCached(cacheDir, node.key)) return {}
  const dir = artifactDir(cacheDir, node.key)
  const out: Figures = {}
  for (const f of REPORT_FILES[node.kind] ?? []) Object.assign(out, numbersOf(readJson(join(dir, f))))
  if (node.kind === 'tokenize') {
    const index = readJson(join(dir, 'index.json'))
    if (index && typeof index.count === 'number') out.samples ??= index.count
  }
  if (node.kind === 'split') {
    for (const part of ['train', 'eval'] as const) {
      const index = readJson(join(dir, part, 'index.json'))
      if (index && typeof index.count === 'number') out[`${part}Samples`] = index.count
    }
  }
  if (node.kind === 'collate') {
    const plan = readBatchPlan(dir)
    if (plan) Object.assign(out, Object.fromEntries(Object.entries(plan).filter(([, v]) => typeof v === 'number')))
  }
  return out
}

/** Figures of every data node of the graph, by node id. */
export function graphFigures(graph: Graph, cacheDir: string): Record<string, Figures> {
  return Object.fromEntries(graph.nodes.filter((n) => n.runsOn === 'data').map((n) => [n.id, nodeFigures(n, cacheDir)]))
}
