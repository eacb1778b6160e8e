import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'

// Layout of the artifact cache:
//   <cacheDir>/<key>/            a finished artifact; `_done.json` inside is written last
//   <cacheDir>/<key>.work/       persistent scratch of a node (train checkpoints), so a rerun resumes
//   <cacheDir>/tmp/<key>.<pid>.<rand>/   an artifact being written; renamed to <key>/ when complete
//   <cacheDir>/file-hashes.json  memo of file hashes (graph/hash.ts)
// A folder under <key>/ without `_done.json` is treated as absent and removed: a crash between
// rename and marker cannot happen (the marker is written before the rename), but a hand-copied or
// half-deleted cache can.

/** File written last into every finished artifact. */
export const DONE_MARKER = '_done.json'

/** What `_done.json` holds. */
export interface DoneMarker {
  key: string
  node: string
  /** Unix ms when the artifact was committed. */
  time: number
  seconds: number
}

export const artifactDir = (cacheDir: string, key: string): string => join(cacheDir, key)
export const workDirOf = (cacheDir: string, key: string): string => join(cacheDir, `${key}.work`)

/** Whether a finished artifact for this key is in the cache. */
export function isCached(cacheDir: string, key: string): boolean {
  return existsSync(join(artifactDir(cacheDir, key), DONE_MARKER))
}

/** The marker of a cached artifact, or `null`. */
export function readMarker(cacheDir: string, key: string): DoneMarker | null {
  const file = join(artifactDir(cacheDir, key), DONE_MARKER)
  if (!existsSync(file)) return null
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DoneMarker
  } catch {
    return null
  }
}

const alive = (pid: number): boolean => {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM' // exists, owned by someone else
  }
}

/**
 * Removes what a crashed writer left: temp folders of processes that no longer run, and
 * `<key>/` folders without a marker. Returns the removed paths.
 */
export function cleanCache(cacheDir: string): string[] {
  const removed: string[] = []
  const tmpRoot = join(cacheDir, 'tmp')
  if (existsSync(tmpRoot)) {
    for (const name of readdirSync(tmpRoot)) {
      const pid = Number(name.split('.')[1])
      if (Number.isInteger(pid) && alive(pid)) continue
      rmSync(join(tmpRoot, name), { recursive: true, force: true })
      removed.push(join(tmpRoot, name))
    }
  }
  if (existsSync(cacheDir)) {
    for (const entry of readdirSync(cacheDir, { withFileTypes: true })) {
      if (!entry.isDirectory() || !/^[0-9a-f]{64}$/.test(entry.name)) continue
      if (existsSync(join(cacheDir, entry.name, DONE_MARKER))) continue
      rmSync(join(cacheDir, entry.name), { recursive: true, force: true })
      removed.push(join(cacheDir, entry.name))
    }
  }
  return removed
}

/** A fresh temp folder for writing the artifact of `key`; its name carries our pid for {@link cleanCache}. */
export function createTempDir(cacheDir: string, key: string): string {
  const dir = join(cacheDir, 'tmp', `${key.slice(0, 16)}.${process.pid}.${randomBytes(4).toString('hex')}`)
  mkdirSync(dir, { recursive: true })
  return dir
}

/**
 * Makes a finished temp folder the artifact of `key`: writes the marker into it, then renames
 * the folder into place (one atomic rename on the same file system). An existing artifact under
 * the key (a forced re-run) is moved aside first and deleted after.
 */
export function commitArtifact(cacheDir: string, key: string, tempDir: string, marker: Omit<DoneMarker, 'key'>): string {
  writeFileSync(join(tempDir, DONE_MARKER), JSON.stringify({ key, ...marker }, null, 2))
  const target = artifactDir(cacheDir, key)
  let old: string | null = null
  if (existsSync(target)) {
    old = join(cacheDir, 'tmp', `${key.slice(0, 16)}.${process.pid}.old-${randomBytes(4).toString('hex')}`)
    renameSync(target, old)
  }
  renameSync(tempDir, target)
  if (old) rmSync(old, { recursive: true, force: true })
  return target
}

/** Deletes the artifact and scratch folder of a key (a forced re-run starts from nothing). */
export function evict(cacheDir: string, key: string, opts: { work: boolean }): void {
  rmSync(artifactDir(cacheDir, key), { recursive: true, force: true })
  if (opts.work) rmSync(workDirOf(cacheDir, key), { recursive: true, force: true })
}
