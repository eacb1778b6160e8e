import { appendFileSync, cpSync, existsSync, lstatSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { RunEvent } from '../events.ts'
import { writeFileAtomicSync } from '../fs/atomic.ts'
import type { Graph, NodeKind } from '../graph/types.ts'

// A run folder (recipe.output.dir) holds what a user looks at after a run:
//   recipe.json    the resolved recipe (every default filled in)
//   graph.json     the compiled graph (keys tell which cache entries were used)
//   events.jsonl   every event of every run into this folder, appended (a resume adds to it)
//   adapter/ checkpoints/ merged/ samples/ gguf/   links to the cache entries (copies where links fail)
//   events.out.tfevents.*   the scalars of events.jsonl for TensorBoard (runner/tensorboard.ts)
//   eval.json      link to the eval node's report
//   report.json predictions.jsonl   links to the score node's files (report-base.json … of score-base)

/** One link of the run folder: `name` → the artifact folder, or one `file` in it. */
export interface RunLink {
  name: string
  file?: string
}

/** What the run folder links to, by node kind: the artifact folder, or files in it. */
export const RUN_LINKS: Partial<Record<NodeKind, readonly RunLink[]>> = {
  train: [{ name: 'adapter' }],
  merge: [{ name: 'merged' }],
  generate: [{ name: 'samples' }],
  eval: [{ name: 'eval.json', file: 'eval.json' }],
  export: [{ name: 'gguf' }],
  score: [{ name: 'report.json', file: 'report.json' }, { name: 'predictions.jsonl', file: 'predictions.jsonl' }],
}

/**
 * The run-folder name of a link of node `id`: a node whose id extends its kind (`score-base` of
 * kind `score`) links under names with the same suffix (`report-base.json`), beside the plain one.
 */
export function runLinkName(name: string, kind: string, id: string): string {
  // a chained recipe's node (`tiny-chat/merge`) links into a folder named after that recipe
  const slash = id.lastIndexOf('/')
  if (slash >= 0) return `${id.slice(0, slash)}/${runLinkName(name, kind, id.slice(slash + 1))}`
  if (id === kind || !id.startsWith(`${kind}-`)) return name
  const suffix = id.slice(kind.length)
  const dot = name.indexOf('.')
  return dot < 0 ? `${name}${suffix}` : `${name.slice(0, dot)}${suffix}${name.slice(dot)}`
}

/** Creates the run folder and writes the resolved recipe and the graph. */
export function prepareRunDir(runDir: string, recipe: unknown, graph: Graph): void {
  mkdirSync(runDir, { recursive: true })
  writeFileAtomicSync(join(runDir, 'recipe.json'), `${JSON.stringify(recipe, null, 2)}\n`)
  writeFileAtomicSync(join(runDir, 'graph.json'), `${JSON.stringify(graph, null, 2)}\n`)
}

/** Appends one event as a JSON line (synchronously, so the file keeps the order events happened in). */
export function appendEvent(runDir: string, event: RunEvent): void {
  appendFileSync(join(runDir, 'events.jsonl'), `${JSON.stringify(event)}\n`)
}

const exists = (p: string): boolean => {
  try {
    lstatSync(p)
    return true
  } catch {
    return false
  }
}

/**
 * Points `<runDir>/<name>` at `target`: a symbolic link (a junction on Windows), or a copy when
 * links are not allowed. Replaces what was there.
 */
export function linkIntoRun(runDir: string, name: string, target: string): string {
  const dest = join(runDir, name)
  mkdirSync(dirname(dest), { recursive: true })
  const tmp = `${dest}.${process.pid}.link`
  rmSync(tmp, { recursive: true, force: true })
  const folder = lstatSync(target).isDirectory()
  try {
    symlinkSync(target, tmp, folder ? (process.platform === 'win32' ? 'junction' : 'dir') : 'file')
  } catch {
    cpSync(target, tmp, { recursive: true })
  }
  // rename() replaces a link or file in one step; a real folder from an older copy must go first.
  if (exists(dest) && !lstatSync(dest).isSymbolicLink()) rmSync(dest, { recursive: true, force: true })
  renameSync(tmp, dest)
  return dest
}

/** Whether a folder exists and is non-empty enough to link (checkpoints appear only once saved). */
export const hasFolder = (p: string): boolean => existsSync(p) && lstatSync(p).isDirectory()
