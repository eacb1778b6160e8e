// Locks of a run folder and of a cache entry: a file created with O_EXCL holding who took it.
// Two runs of one recipe would otherwise both train and interleave one events.jsonl; two recipes
// that share a node would both write its artifact. A lock of a process that is gone (killed with
// -9, a power cut) is taken over: same host and its pid no longer runs.
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { fail } from '../errors/tunekit-error.ts'

/** What a lock file holds. */
export interface LockHolder {
  pid: number
  host: string
  /** ISO time the lock was taken. */
  startedAt: string
}

/** A lock this process holds. */
export interface HeldLock {
  path: string
  release: () => void
}

/** Options of {@link acquireLock}. */
export interface AcquireOptions {
  /** What the lock guards, for messages: `the run folder runs/x`. */
  what: string
  /** Wait for the holder (default) or fail at once with `RunLocked` (TK434). */
  wait: boolean
  /** Called once when the lock is held by another process and we start waiting. */
  onWait?: (holder: LockHolder | null) => void
  /** Stops waiting (Ctrl-C): the wait rejects with the signal's reason. */
  signal?: AbortSignal
  /** Milliseconds between attempts while waiting. */
  pollMs?: number
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM' // exists, owned by another user
  }
}

function readHolder(path: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as LockHolder
    return typeof h.pid === 'number' && typeof h.host === 'string' ? h : null
  } catch {
    return null // gone, or being written this instant
  }
}

/** `pid 123 on host-a since 2026-…`. */
export const describeHolder = (h: LockHolder | null): string => (h ? `pid ${h.pid} on ${h.host} since ${h.startedAt}` : 'another process')

const isStale = (h: LockHolder | null): h is LockHolder => h !== null && h.host === hostname() && h.pid !== process.pid && !alive(h.pid)

/** Held locks, released if the process exits without releasing them (process.exit on a second Ctrl-C). */
const held = new Set<string>()
let exitHook = false

/** Takes the lock if it is free (or stale); otherwise returns who holds it. */
export function tryLock(path: string): HeldLock | { holder: LockHolder | null } {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx')
      const me: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() }
      try {
        writeSync(fd, `${JSON.stringify(me)}\n`)
      } finally {
        closeSync(fd)
      }
      held.add(path)
      if (!exitHook) {
        exitHook = true
        process.on('exit', () => held.forEach((p) => rmSync(p, { force: true })))
      }
      return { path, release: () => { held.delete(path); rmSync(path, { force: true }) } }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    }
    const holder = readHolder(path)
    if (!isStale(holder)) return { holder }
    // Take over a dead holder's lock: move it aside under a name of ours (one rename; a racing
    // process that moved it first makes ours fail with ENOENT), then try O_EXCL again. The
    // holder is read again just before, so a lock retaken meanwhile by a live process is kept.
    const again = readHolder(path)
    if (!isStale(again) || again.pid !== holder.pid || again.startedAt !== holder.startedAt) continue
    const aside = `${path}.stale-${process.pid}`
    try {
      renameSync(path, aside)
      rmSync(aside, { force: true })
    } catch {
      // another process took it over first; try again
    }
  }
  return { holder: readHolder(path) }
}

/**
 * Takes the lock at `path`, waiting while a live process holds it (or failing at once with
 * `RunLocked` when `wait` is false).
 */
export async function acquireLock(path: string, opts: AcquireOptions): Promise<HeldLock> {
  let told = false
  for (;;) {
    const got = tryLock(path)
    if ('release' in got) return got
    if (!opts.wait) fail('RunLocked', { value: path }, opts.what, describeHolder(got.holder))
    if (!told) opts.onWait?.(got.holder)
    told = true
    opts.signal?.throwIfAborted()
    await sleep(opts.pollMs ?? 200, undefined, opts.signal ? { signal: opts.signal } : {}).catch(() => opts.signal?.throwIfAborted())
  }
}
