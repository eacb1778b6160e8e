// What a node's failure is: a user's problem (a catalog error), a full disk (a catalog error
// too: nothing in tunekit is wrong), or a bug in tunekit, which keeps its trace in a crash log.
import { join } from 'node:path'
import { issue, TunekitError } from '../errors/tunekit-error.ts'
import { writeFileAtomicSync } from '../fs/atomic.ts'
import { gb } from '../plan/memory.ts'

/**
 * A node threw something that is not a catalog error: a bug in tunekit. Not a `TunekitError`, so
 * the CLI exits with 2 and prints the trace; `crashLog` holds the same trace on disk.
 */
export class NodeCrash extends Error {
  /** The node that threw. */
  readonly node: string
  /** `<runDir>/crash-<time>.log`, or `null` when it could not be written. */
  readonly crashLog: string | null
  constructor(node: string, cause: unknown, crashLog: string | null) {
    super(`node ${node} crashed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
    this.name = 'NodeCrash'
    this.node = node
    this.crashLog = crashLog
    // The trace worth reading is the one of the error the node threw.
    if (cause instanceof Error && cause.stack) this.stack = `${this.name}: ${this.message}\n${cause.stack}`
  }
}

/** The `ENOSPC` error somewhere in `error`'s cause chain, if any. */
export function noSpaceError(error: unknown): NodeJS.ErrnoException | null {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC') return e as NodeJS.ErrnoException
  }
  return null
}

/** `DiskFull` (TK432) for a node that ran out of space under `folder`; `needBytes` from the plan's disk estimate. */
export function diskFull(node: string, folder: string, needBytes: number | null, cause: unknown): TunekitError {
  const out = new TunekitError([issue('DiskFull', { path: node }, node, folder, needBytes === null ? 'an unknown amount' : gb(needBytes))])
  out.cause = cause
  return out
}

/** Writes `<runDir>/crash-<time>.log` with the node, the recipe name and the full trace; returns its path. */
export function writeCrashLog(runDir: string, node: string, recipeName: string, error: unknown): string | null {
  const time = new Date().toISOString().replace(/[:.]/g, '-')
  const file = join(runDir, `crash-${time}.log`)
  const trace = (e: unknown): string => (e instanceof Error ? `${e.stack ?? e.message}${e.cause !== undefined ? `\ncaused by: ${trace(e.cause)}` : ''}` : String(e))
  const text = [
    `tunekit crash: node ${node} of recipe ${recipeName} threw an error that is not a tunekit error (a bug in tunekit).`,
    `time: ${new Date().toISOString()}`,
    `node: ${process.version} on ${process.platform}-${process.arch}`,
    `argv: ${process.argv.join(' ')}`,
    '',
    trace(error),
    '',
  ].join('\n')
  try {
    writeFileAtomicSync(file, text)
    return file
  } catch {
    return null
  }
}
