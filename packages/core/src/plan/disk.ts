// How much disk a run's artifacts take in the cache, and whether it is free. A full disk found
// after an hour of training loses the hour; found by the plan, it costs nothing.
import { lstatSync, statfsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { Graph } from '../graph/types.ts'
import { isCached } from '../cache/store.ts'
import type { Figures } from './data-figures.ts'
import { gb, OPTIMIZER_BYTES } from './memory.ts'
import type { ParamCounts } from './model-size.ts'

/** Bytes per weight of each GGUF type: ggml's block sizes (Q8_0: 32 int8 + an f16 scale per 32 weights). */
const GGUF_BYTES_PER_WEIGHT: Record<string, number> = { f32: 4, f16: 2, q8_0: 34 / 32, q4_0: 18 / 32 }

/** One artifact's share of the estimate. */
export interface DiskPart {
  /** What it is: `model`, `shards`, `adapter`, `checkpoints`, `merged`, `gguf`. */
  name: string
  /** The nodes that write it (`tokenize` and `split` both write shards). */
  nodes: string[]
  bytes: number
  /** How it was counted, for the plan: `3 × 1.2 MB`. */
  detail: string
}

/** The disk a run needs under the cache folder and what is free there. */
export interface DiskEstimate {
  /** The folder measured (output.cacheDir, or its nearest existing parent). */
  folder: string
  /** The artifacts of the nodes still to run. */
  parts: DiskPart[]
  total: number
  /** Bytes free to this user on that file system (`statfs` bavail × bsize), when known. */
  freeBytes: number | null
  /** `total <= freeBytes`, when that is known. */
  fits: boolean | null
}

/** What {@link estimateDisk} reads from the plan. */
export interface DiskInput {
  graph: Graph
  cacheDir: string
  params: ParamCounts
  figures: Record<string, Figures>
  /** The train node's args: checkpoints kept and the optimizer (its states are saved with each). */
  args: { keepCheckpoints: number; optimizer: string }
  /** Bytes per weight of the model as written: 4 for float32, 2 for float16 / bfloat16. */
  weightBytes: number
  random: boolean
  maxLength: number
}


/** Bytes free under `dir` (or its nearest existing parent), or `null` where statfs is unavailable. */
export function freeBytes(dir: string): { folder: string; bytes: number | null } {
  let cur = resolve(dir)
  for (;;) {
    try {
      lstatSync(cur)
      break
    } catch {
      if (dirname(cur) === cur) break
      cur = dirname(cur)
    }
  }
  try {
    const s = statfsSync(cur)
    return { folder: cur, bytes: s.bavail * s.bsize }
  } catch {
    return { folder: cur, bytes: null }
  }
}

/**
 * Estimates the bytes the run writes into the cache, node by node, counting only nodes not yet
 * cached: a random model's weights, the token shards (tokenize and split each hold a copy: 4
 * bytes of id + 1 of mask per token), the adapter, `keepCheckpoints + 1` checkpoints (a new one
 * is written before the oldest is deleted) each with its optimizer states, the merged model and
 * its GGUF files (ggml's bytes per weight of each type; the F32 norms are a rounding error).
 */
export function estimateDisk(input: DiskInput): DiskEstimate {
  const { graph, cacheDir, params, figures } = input
  const parts: DiskPart[] = []
  const toRun = (kind: string): boolean => graph.nodes.some((n) => n.kind === kind && !isCached(cacheDir, n.key))
  const ids = (...kinds: string[]): string[] => graph.nodes.filter((n) => kinds.includes(n.kind) && !isCached(cacheDir, n.key)).map((n) => n.id)
  if (input.random && toRun('model')) parts.push({ name: 'model', nodes: ids('model'), bytes: params.base * input.weightBytes, detail: `random weights, ${input.weightBytes} bytes × ${params.base}` })
  if (toRun('tokenize') || toRun('split')) {
    const source = graph.nodes.find((n) => n.kind === 'source')?.params.source as { records?: unknown[] } | undefined
    const samples = figures.tokenize?.samples ?? figures.source?.records ?? figures.format?.conversations ?? source?.records?.length
    const tokens = figures.tokenize?.tokens ?? (samples !== undefined ? samples * input.maxLength : undefined)
    if (tokens !== undefined) parts.push({ name: 'shards', nodes: ids('tokenize', 'split'), bytes: 2 * 5 * tokens, detail: `2 copies × ${tokens} tokens × 5 bytes` })
  }
  if (toRun('train')) {
    // the artifact's values (LoftQ's replaced base, a prompt encoder's output) where they are not the trained ones; checkpoints hold those
    const artifact = params.artifact ?? params.trainable
    const trained = params.trainable * 4
    const state = params.trainable * (OPTIMIZER_BYTES[input.args.optimizer] ?? 8)
    const copies = input.args.keepCheckpoints + 1
    parts.push({ name: 'adapter', nodes: ids('train'), bytes: artifact * 4, detail: `${artifact} float32` })
    parts.push({ name: 'checkpoints', nodes: ids('train'), bytes: copies * (trained + state), detail: `${copies} × ${gb(trained + state)} (adapter + optimizer states)` })
  }
  if (toRun('merge')) parts.push({ name: 'merged', nodes: ids('merge'), bytes: params.base * input.weightBytes, detail: `${input.weightBytes} bytes × ${params.base}` })
  const exported = graph.nodes.find((n) => n.kind === 'export' && !isCached(cacheDir, n.key))
  if (exported) {
    const types = exported.params.gguf as string[]
    const perWeight = types.reduce((n, t) => n + GGUF_BYTES_PER_WEIGHT[t]!, 0)
    parts.push({ name: 'gguf', nodes: [exported.id], bytes: Math.round(params.base * perWeight), detail: `${types.join(' + ')}: ${+perWeight.toFixed(4)} bytes × ${params.base}` })
  }
  const total = parts.reduce((n, p) => n + p.bytes, 0)
  const free = freeBytes(cacheDir)
  return { folder: free.folder, parts, total, freeBytes: free.bytes, fits: free.bytes === null ? null : total <= free.bytes }
}
