// The run folders the dashboard shows, and the few files of each it reads. A run is named by its
// folder relative to the project root (`runs/tiny-chat`); a request names a run by that id and the
// server looks it up in this list, so no path a browser sends is ever opened.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve, sep } from 'node:path'
import type { RunEvent } from '@tunekit/core'

/** A run folder: its id (relative to the root, `/`-separated) and where it is. */
export interface RunFolder {
  id: string
  dir: string
}

/** What the runs page shows of one run, from its recipe.json and events.jsonl. */
export interface RunSummary {
  id: string
  recipe: string
  /** `running` while a run holds the folder's lock; `done`, `stopped` (interrupted: TK404), `failed`, or `new` (no run yet). */
  status: 'running' | 'done' | 'stopped' | 'failed' | 'new'
  /** The code of the last run's failure (`run-end` with `ok: false`). */
  code?: string
  steps: number
  totalSteps?: number
  bestLoss?: number
  lastLoss?: number
  evalLoss?: number
  /** Generation metrics of the last `score` event (metric → percent). */
  score?: { [metric: string]: number | null }
  startedAt?: number
  updatedAt?: number
  /** Seconds the runs into this folder took, from each run-start to its run-end (or its last event). */
  seconds: number
}

/** The files of a run folder a page may read, by the name the API uses. */
export const RUN_FILES = ['recipe.json', 'graph.json', 'events.jsonl', 'eval.json', 'report.json'] as const
export type RunFile = (typeof RUN_FILES)[number]

/** The id of a run folder: its path from the root, `/`-separated. */
export const runId = (root: string, dir: string): string => relative(root, dir).split(sep).join('/')

/**
 * The run folders under `<root>/runs` (each holding a recipe.json: `runs/<name>`, the default
 * `output.dir`) and the `extra` ones (runs this dashboard started elsewhere), newest first.
 */
export function listRunFolders(root: string, extra: readonly string[] = []): RunFolder[] {
  const base = join(root, 'runs')
  const found = existsSync(base)
    ? readdirSync(base, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(base, d.name))
    : []
  const dirs = [...new Set([...found, ...extra.map((d) => resolve(d))])].filter((d) => existsSync(join(d, 'recipe.json')))
  const mtime = (d: string): number => statSync(join(d, 'recipe.json')).mtimeMs
  return dirs.sort((a, b) => mtime(b) - mtime(a)).map((dir) => ({ id: runId(root, dir), dir }))
}

/** The run folder of an id, or undefined when the id is not in the list (never a path resolved from it). */
export function findRun(folders: readonly RunFolder[], id: string): RunFolder | undefined {
  return folders.find((f) => f.id === id)
}

/** The events of a run folder so far (a line being written, without its newline yet, is left for later). */
export function readEvents(dir: string): RunEvent[] {
  const file = join(dir, 'events.jsonl')
  if (!existsSync(file)) return []
  const text = readFileSync(file, 'utf8')
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as RunEvent)
}

/** Whether the run folder's lock is held by a live process (`.tunekit.lock`, see runner/lock.ts). */
function locked(dir: string): boolean {
  const file = join(dir, '.tunekit.lock')
  if (!existsSync(file)) return false
  try {
    const { pid } = JSON.parse(readFileSync(file, 'utf8')) as { pid: number }
    process.kill(pid, 0) // signal 0: only asks whether the process exists
    return true
  } catch {
    return false
  }
}

/** The status, losses and times of a run folder, for the runs page. */
export function summarizeRun(folder: RunFolder): RunSummary {
  const events = readEvents(folder.dir)
  const recipe = JSON.parse(readFileSync(join(folder.dir, 'recipe.json'), 'utf8')) as { name?: string }
  const summary: RunSummary = { id: folder.id, recipe: recipe.name ?? folder.id, status: 'new', steps: 0, seconds: 0 }
  let runStart = 0 // time of the current run's run-start (ms); its share of `seconds` is counted at each event
  for (const e of events) {
    summary.startedAt ??= e.time
    if (e.type === 'run-start') runStart = e.time
    else if (runStart > 0) summary.seconds += (e.time - (summary.updatedAt ?? e.time)) / 1000
    summary.updatedAt = e.time
    if (e.type === 'run-end') runStart = 0
    if (e.type === 'run-start') Object.assign(summary, { status: 'running', code: undefined })
    if (e.type === 'run-end') Object.assign(summary, e.ok ? { status: 'done' } : { status: e.code === 'TK404' ? 'stopped' : 'failed', code: e.code })
    if (e.type === 'step') {
      Object.assign(summary, { steps: e.step, totalSteps: e.totalSteps, lastLoss: e.loss })
      summary.bestLoss = Math.min(summary.bestLoss ?? Infinity, e.loss)
    }
    if (e.type === 'eval') summary.evalLoss = e.loss
    if (e.type === 'score' && e.model === 'trained') summary.score = e.metrics
  }
  // A run killed without its run-end (kill -9) left "running" in its events: the lock says otherwise.
  if (summary.status === 'running' && !locked(folder.dir)) summary.status = 'stopped'
  return summary
}

/** The training loss by step of a folder's events (a step redone after a resume keeps its last value), in step order. */
export function lossPoints(events: readonly RunEvent[]): [number, number][] {
  const byStep = new Map<number, number>()
  for (const e of events) if (e.type === 'step') byStep.set(e.step, e.loss)
  return [...byStep.entries()].sort((a, b) => a[0] - b[0])
}
