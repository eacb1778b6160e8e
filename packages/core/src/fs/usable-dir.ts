// A folder the run writes into (output.dir, output.cacheDir), checked and created before any
// node runs. `mkdirSync(p, { recursive: true })` is not enough: under /proc (procfs answers
// ENOENT to mkdir and EEXIST to the parent) Node's recursive mkdir retries forever, and a
// read-only mount or a file in the way is only found by the first node that writes.
import { accessSync, constants, lstatSync, mkdirSync, statfsSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fail } from '../errors/tunekit-error.ts'

// statfs f_type of pseudo file systems that hold no files (linux/magic.h).
const PSEUDO_FS: Record<number, string> = {
  0x9fa0: 'procfs (/proc)',
  0x62656572: 'sysfs (/sys)',
  0x1cd1: 'devpts',
  0x27e0eb: 'cgroup',
  0x63677270: 'cgroup2',
  0x64626720: 'debugfs',
  0x73636673: 'securityfs',
}

const errnoOf = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? String(e)

/** The nearest path at or above `path` that exists (a folder or a file), and the parts below it. */
function nearestExisting(path: string): { existing: string; missing: string[] } {
  const missing: string[] = []
  let cur = resolve(path)
  for (;;) {
    try {
      lstatSync(cur)
      return { existing: cur, missing }
    } catch {
      const up = dirname(cur)
      if (up === cur) return { existing: cur, missing }
      missing.unshift(cur)
      cur = up
    }
  }
}

/** Why the file system under `dir` cannot hold files, or `null`. */
function pseudoFileSystem(dir: string): string | null {
  try {
    return PSEUDO_FS[statfsSync(dir).type] ?? null
  } catch {
    return null
  }
}

/**
 * Makes sure `dir` is (or can be made) a writable folder on a real file system, creating it one
 * level at a time. Throws `FolderUnusable` (TK433), naming the recipe key, when a file is in the
 * way, the file system is /proc-like or read-only, or a level cannot be created.
 */
export function ensureUsableDir(dir: string, key: string): void {
  for (const level of checkUsableDir(dir, key)) {
    try {
      mkdirSync(level)
    } catch (e) {
      if (errnoOf(e) === 'EEXIST' && statSync(level, { throwIfNoEntry: false })?.isDirectory()) continue // made by a concurrent run
      fail('FolderUnusable', { path: key, value: dir, hintArgs: [key] }, dir, `cannot create ${level} (${errnoOf(e)})`)
    }
  }
}

/**
 * The checks of {@link ensureUsableDir} without creating anything (so that every folder of a
 * run is checked before any is made); returns the levels still to create, outermost first.
 */
export function checkUsableDir(dir: string, key: string): string[] {
  const { existing, missing } = nearestExisting(dir)
  const unusable = (reason: string): never => fail('FolderUnusable', { path: key, value: dir, hintArgs: [key] }, dir, reason)
  if (!statSync(existing, { throwIfNoEntry: false })?.isDirectory()) unusable(`${existing} is a file, not a folder`)
  const pseudo = pseudoFileSystem(existing)
  if (pseudo) unusable(`${existing} is on ${pseudo}, which holds no files`)
  try {
    accessSync(existing, constants.W_OK)
  } catch (e) {
    unusable(errnoOf(e) === 'EROFS' ? `${existing} is on a read-only file system` : `${existing} is not writable (${errnoOf(e)})`)
  }
  return missing
}
