import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { NodeContext, NodeExecutor } from '../backend.ts'
import { artifactDir, cleanCache, commitArtifact, createTempDir, isCached, workDirOf } from '../cache/store.ts'
import type { Recipe } from '../define.ts'
import { fail, isTunekitError, issue, TunekitError } from '../errors/tunekit-error.ts'
import type { RunEvent, RunEventInput } from '../events.ts'
import { checkUsableDir, ensureUsableDir } from '../fs/usable-dir.ts'
import { getNode } from '../graph/walk.ts'
import type { Graph, NodeKind } from '../graph/types.ts'
import { diskFull, NodeCrash, noSpaceError, writeCrashLog } from './crash.ts'
import { acquireLock, describeHolder, type HeldLock } from './lock.ts'
import { appendEvent, linkIntoRun, prepareRunDir, RUN_LINKS, runLinkName } from './run-dir.ts'
import { selectNodes, type Selection } from './select.ts'
import { tensorboardSink } from './tensorboard.ts'

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
  /** Every event of the run, as written to events.jsonl (and, before the run folder is locked, the wait message). */
  onEvent?: (event: RunEvent) => void
  /** The backend the run resolved to (`resolveBackend`); announced as a `backend` event. */
  backend?: { name: string; capabilities: { engine: string; device: string }; reason: string }
  /**
   * When another process holds the run folder or a cache entry: wait for it (default), or
   * fail at once with `RunLocked` (TK434).
   */
  wait?: boolean
  /** The plan's disk estimate for the run (bytes), quoted when a node finds the disk full. */
  diskNeedBytes?: number
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
 * leaves a half artifact; a node whose key is cached is skipped (`node-cached`).
 *
 * The run folder is locked for the whole run and each cache entry while its node runs
 * (`<runDir>/.tunekit.lock`, `<cacheDir>/<key>.lock`): a second run of the same recipe waits
 * (or fails with `RunLocked` when `wait` is false), then finds the first run's artifacts cached.
 *
 * Throws the catalog's `Interrupted` (TK404) when `signal` aborts, `DiskFull` (TK432) when a
 * node runs out of space (its checkpoints are kept, so the rerun resumes), the executor's own
 * catalog error, and {@link NodeCrash} (not a catalog error: a bug, exit code 2) when an
 * executor throws anything else, after writing its trace to `<runDir>/crash-<time>.log`.
 */
export async function runGraph(graph: Graph, opts: RunGraphOptions): Promise<RunResult> {
  const { cacheDir, runDir } = opts
  checkUsableDir(cacheDir, 'output.cacheDir')
  checkUsableDir(runDir, 'output.dir')
  ensureUsableDir(cacheDir, 'output.cacheDir')
  ensureUsableDir(runDir, 'output.dir')
  const wait = opts.wait ?? true
  const lock = (path: string, what: string, onWait: (message: string) => void): Promise<HeldLock> =>
    acquireLock(path, { what, wait, onWait: (h) => onWait(`waiting for ${what}: it is in use by ${describeHolder(h)}`), ...(opts.signal ? { signal: opts.signal } : {}) })
      .catch((e: unknown) => (opts.signal?.aborted && !isTunekitError(e) ? fail('Interrupted', { path: 'lock' }, `the wait for ${what}`) : Promise.reject(e)))
  // Before the run folder is ours its events.jsonl belongs to the other run: tell only the terminal.
  const runLock = await lock(join(runDir, '.tunekit.lock'), `the run folder ${runDir}`, (message) =>
    opts.onEvent?.({ type: 'log', time: Date.now(), level: 'warn', message }))
  try {
    return await runLocked(graph, opts, lock)
  } finally {
    runLock.release()
  }
}

type Lock = (path: string, what: string, onWait: (message: string) => void) => Promise<HeldLock>

async function runLocked(graph: Graph, opts: RunGraphOptions, lock: Lock): Promise<RunResult> {
  const { cacheDir, runDir } = opts
  cleanCache(cacheDir)
  const { visit, force } = selectNodes(graph, opts, cacheDir)
  for (const id of visit) checkCacheEntry(cacheDir, getNode(graph, id).key)
  prepareRunDir(runDir, opts.recipe, graph)

  const tensorboard = tensorboardSink(runDir)
  const emit = (event: RunEventInput): void => {
    const stamped = { ...event, time: Date.now() } as RunEvent
    appendEvent(runDir, stamped)
    tensorboard(stamped)
    opts.onEvent?.(stamped)
  }
  const endWith = (error: unknown): never => {
    // TK405 marks a crash in events.jsonl: a NodeCrash carries no catalog code of its own.
    try {
      emit({ type: 'run-end', ok: false, code: isTunekitError(error) ? error.code : 'TK405' })
    } catch {
      // events.jsonl cannot take the line (a full disk): the error itself matters more
    }
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
    const takeCached = (): boolean => {
      if (!isCached(cacheDir, node.key) || force.has(id)) return false
      emit({ type: 'node-cached', node: id, key: node.key })
      outcomes.push({ id, key: node.key, status: 'cached', path, seconds: 0 })
      linkArtifacts(opts, node.kind, id, node.key, emit)
      return true
    }
    if (takeCached()) continue
    const executor = opts.executors[node.kind]
    if (!executor) endWith(new TunekitError([issue('NoExecutor', { path: id, value: node.kind }, id, node.kind)]))
    // Another recipe sharing this node may be computing it: wait, then take its artifact.
    const entryLock = await lock(`${path}.lock`, `the cache entry of ${id} (${node.key.slice(0, 12)})`, (message) =>
      emit({ type: 'log', node: id, level: 'warn', message })).catch(endWith)
    try {
      if (takeCached()) continue
      outcomes.push(await runNode(graph, node.id, executor!, opts, force.has(id), emit, endWith))
      linkArtifacts(opts, node.kind, id, node.key, emit)
    } finally {
      entryLock.release()
    }
  }
  emit({ type: 'run-end', ok: true })
  return { runDir, nodes: outcomes }
}

/** Runs one node into a temp folder and commits it; classifies what it throws. */
async function runNode(graph: Graph, id: string, executor: NodeExecutor, opts: RunGraphOptions, forced: boolean, emit: (e: RunEventInput) => void, endWith: (e: unknown) => never): Promise<NodeOutcome> {
  const { cacheDir, runDir } = opts
  const node = getNode(graph, id)
  const workDir = workDirOf(cacheDir, node.key)
  let outDir = ''
  try {
    if (forced) rmSync(workDir, { recursive: true, force: true }) // forced: start over, not resume
    mkdirSync(workDir, { recursive: true })
    outDir = createTempDir(cacheDir, node.key)
  } catch (error) {
    endWith(noSpaceError(error) ? noSpace(id, opts, error) : error)
  }
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
    await executor(ctx)
  } catch (error) {
    // The temp folder goes (it frees the space a full disk needs); workDir and its checkpoints stay.
    rmSync(outDir, { recursive: true, force: true })
    if (opts.signal?.aborted) endWith(interrupted(id))
    if (isTunekitError(error)) endWith(error)
    if (noSpaceError(error)) endWith(noSpace(id, opts, error))
    endWith(new NodeCrash(id, error, writeCrashLog(runDir, id, graph.recipeName, error)))
  }
  // A node that returns because of the abort has checkpointed but is not finished: never commit it.
  if (opts.signal?.aborted) {
    rmSync(outDir, { recursive: true, force: true })
    endWith(interrupted(id))
  }
  const seconds = (performance.now() - t0) / 1000
  try {
    commitArtifact(cacheDir, node.key, outDir, { node: id, time: Date.now(), seconds })
  } catch (error) {
    rmSync(outDir, { recursive: true, force: true })
    endWith(noSpaceError(error) ? noSpace(id, opts, error) : error)
  }
  emit({ type: 'node-end', node: id, key: node.key, seconds })
  return { id, key: node.key, status: 'ran', path: artifactDir(cacheDir, node.key), seconds }
}

/** `DiskFull` for a node, naming the run folder when that is what filled up, else the cache. */
function noSpace(id: string, opts: RunGraphOptions, error: unknown): TunekitError {
  const at = noSpaceError(error)?.path
  const folder = at !== undefined && !at.startsWith(opts.cacheDir) && at.startsWith(opts.runDir) ? opts.runDir : opts.cacheDir
  return diskFull(id, folder, opts.diskNeedBytes ?? null, error)
}

/** A cache entry (or its work folder) that exists and is not a folder was not written by tunekit. */
function checkCacheEntry(cacheDir: string, key: string): void {
  for (const p of [artifactDir(cacheDir, key), workDirOf(cacheDir, key)]) {
    const stat = lstatSync(p, { throwIfNoEntry: false })
    if (stat && !stat.isDirectory()) fail('CacheEntryCorrupt', { path: 'output.cacheDir', value: p }, p)
  }
}

function linkArtifacts(opts: RunGraphOptions, kind: NodeKind, id: string, key: string, emit: (e: RunEventInput) => void): void {
  for (const link of RUN_LINKS[kind] ?? []) {
    const target = link.file ? join(artifactDir(opts.cacheDir, key), link.file) : artifactDir(opts.cacheDir, key)
    const name = runLinkName(link.name, kind, id)
    emit({ type: 'artifact', node: id, name, path: linkIntoRun(opts.runDir, name, target) })
  }
  const work = workDirOf(opts.cacheDir, key)
  if (kind === 'train' && existsSync(work) && readdirSync(work).some((f) => f.startsWith('checkpoint-'))) {
    emit({ type: 'artifact', node: id, name: runLinkName('checkpoints', kind, id), path: linkIntoRun(opts.runDir, runLinkName('checkpoints', kind, id), work) })
  }
}

const interrupted = (node: string): TunekitError => new TunekitError([issue('Interrupted', { path: node }, node)])
