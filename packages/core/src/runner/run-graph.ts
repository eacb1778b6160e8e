import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { NodeContext, NodeExecutor } from '../backend.ts'
import { artifactDir, cleanCache, commitArtifact, createTempDir, isCached, workDirOf } from '../cache/store.ts'
import type { Recipe } from '../define.ts'
import { isTunekitError, issue, TunekitError } from '../errors/tunekit-error.ts'
import type { RunEvent, RunEventInput } from '../events.ts'
import { getNode } from '../graph/walk.ts'
import type { Graph, NodeKind } from '../graph/types.ts'
import { appendEvent, linkIntoRun, prepareRunDir, RUN_LINKS } from './run-dir.ts'
import { selectNodes, type Selection } from './select.ts'

/** Options of {@link runGraph}. */
export interface RunGraphOptions extends Selection {
  recipe: Recipe
  /** Executors by node kind: `@tunekit/data`'s data executors plus a backend's. */
  executors: Partial<Record<NodeKind, NodeExecutor>>
  /** Artifact cache, e.g. `.tunekit/cache`. */
  cacheDir: string
  /** Run folder: recipe.json, graph.json, events.jsonl and links to the artifacts. */
  runDir: string
  /** Folder of the recipe file. */
  baseDir: string
  /** Abort (Ctrl-C): the running node checkpoints and returns; the run throws `Interrupted`. */
  signal?: AbortSignal
  /** Every event of the run, as written to events.jsonl. */
  onEvent?: (event: RunEvent) => void
  /** The backend the run resolved to (`resolveBackend`); announced as a `backend` event. */
  backend?: { name: string; capabilities: { engine: string; device: string }; reason: string }
}

/** What happened to one node. */
export interface NodeOutcome {
  id: string
  key: string
  status: 'ran' | 'cached'
  /** The artifact folder in the cache. */
  path: string
  seconds: number
}

export interface RunResult {
  runDir: string
  nodes: NodeOutcome[]
}

/**
 * Runs the graph's nodes in order. Each node writes into a temp folder under the cache that is
 * renamed to `<cacheDir>/<key>/` once complete (marker `_done.json` inside), so a crash never
 * leaves a half artifact; a node whose key is cached is skipped (`node-cached`). Throws the
 * catalog's `Interrupted` (TK404) when `signal` aborts, `NodeFailed` (TK405) when an executor
 * throws something that is not a {@link TunekitError}.
 */
export async function runGraph(graph: Graph, opts: RunGraphOptions): Promise<RunResult> {
  const { cacheDir, runDir } = opts
  mkdirSync(cacheDir, { recursive: true })
  cleanCache(cacheDir)
  const { visit, force } = selectNodes(graph, opts, cacheDir)
  prepareRunDir(runDir, opts.recipe, graph)

  const emit = (event: RunEventInput): void => {
    const stamped = { ...event, time: Date.now() } as RunEvent
    appendEvent(runDir, stamped)
    opts.onEvent?.(stamped)
  }
  const endWith = (error: unknown): never => {
    emit({ type: 'run-end', ok: false, code: isTunekitError(error) ? error.code : 'TK405' })
    throw error
  }

  emit({ type: 'run-start', recipe: graph.recipeName, nodes: visit })
  const b = opts.backend
  if (b) emit({ type: 'backend', name: b.name, engine: b.capabilities.engine, device: b.capabilities.device, reason: b.reason })
  const outcomes: NodeOutcome[] = []
  for (const id of visit) {
    const node = getNode(graph, id)
    const path = artifactDir(cacheDir, node.key)
    if (opts.signal?.aborted) endWith(interrupted(node.id))
    if (isCached(cacheDir, node.key) && !force.has(id)) {
      emit({ type: 'node-cached', node: id, key: node.key })
      outcomes.push({ id, key: node.key, status: 'cached', path, seconds: 0 })
      linkArtifacts(opts, node.kind, id, node.key, emit)
      continue
    }
    const executor = opts.executors[node.kind]
    if (!executor) endWith(new TunekitError([issue('NoExecutor', { path: id, value: node.kind }, id, node.kind)]))
    const workDir = workDirOf(cacheDir, node.key)
    if (force.has(id)) rmSync(workDir, { recursive: true, force: true }) // forced: start over, not resume
    mkdirSync(workDir, { recursive: true })
    const outDir = createTempDir(cacheDir, node.key)
    const ctx: NodeContext = {
      node,
      graph,
      recipe: opts.recipe,
      outDir,
      workDir,
      runDir,
      baseDir: opts.baseDir,
      emit,
      signal: opts.signal ?? new AbortController().signal,
      input: (inputId) => {
        if (!node.inputs.includes(inputId)) throw new Error(`node ${id} reads ${inputId}, which is not one of its inputs (${node.inputs.join(', ')})`)
        return artifactDir(cacheDir, getNode(graph, inputId).key)
      },
    }
    emit({ type: 'node-start', node: id, key: node.key })
    const t0 = performance.now()
    try {
      await executor!(ctx)
    } catch (error) {
      rmSync(outDir, { recursive: true, force: true })
      if (opts.signal?.aborted) endWith(interrupted(id))
      endWith(isTunekitError(error) ? error : nodeFailed(id, error))
    }
    // A node that returns because of the abort has checkpointed but is not finished: never commit it.
    if (opts.signal?.aborted) {
      rmSync(outDir, { recursive: true, force: true })
      endWith(interrupted(id))
    }
    const seconds = (performance.now() - t0) / 1000
    commitArtifact(cacheDir, node.key, outDir, { node: id, time: Date.now(), seconds })
    emit({ type: 'node-end', node: id, key: node.key, seconds })
    outcomes.push({ id, key: node.key, status: 'ran', path, seconds })
    linkArtifacts(opts, node.kind, id, node.key, emit)
  }
  emit({ type: 'run-end', ok: true })
  return { runDir, nodes: outcomes }
}

function linkArtifacts(opts: RunGraphOptions, kind: NodeKind, id: string, key: string, emit: (e: RunEventInput) => void): void {
  const link = RUN_LINKS[kind]
  if (link) {
    const target = link.file ? join(artifactDir(opts.cacheDir, key), link.file) : artifactDir(opts.cacheDir, key)
    emit({ type: 'artifact', node: id, name: link.name, path: linkIntoRun(opts.runDir, link.name, target) })
  }
  const work = workDirOf(opts.cacheDir, key)
  if (kind === 'train' && existsSync(work) && readdirSync(work).some((f) => f.startsWith('checkpoint-'))) {
    emit({ type: 'artifact', node: id, name: 'checkpoints', path: linkIntoRun(opts.runDir, 'checkpoints', work) })
  }
}

const interrupted = (node: string): TunekitError => new TunekitError([issue('Interrupted', { path: node }, node)])

function nodeFailed(node: string, error: unknown): TunekitError {
  const reason = error instanceof Error ? error.message : String(error)
  const out = new TunekitError([issue('NodeFailed', { path: node }, node, reason)])
  if (error instanceof Error) out.cause = error
  return out
}
