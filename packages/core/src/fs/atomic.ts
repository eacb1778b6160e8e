// Atomic file and folder writes: write beside the target under a temporary name, then rename, so
// a reader never sees a half-written artifact and a crash leaves no partial file under the name.
import { randomBytes } from 'node:crypto'
import { renameSync, rmSync, writeFileSync } from 'node:fs'
import { copyFile, mkdir, open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'

/** A unique temporary sibling name of `path`. */
export function tempName(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
}

/** Runs `write(tmp)` on a temporary sibling of `path`, then renames it to `path`; removes the temporary on failure. */
async function viaTemp(path: string, write: (tmp: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const tmp = tempName(path)
  try {
    await write(tmp)
    await rename(tmp, path)
  } catch (e) {
    await rm(tmp, { force: true })
    throw e
  }
}

/** Writes `data` to `path` atomically (temp file + rename). Creates the parent folder. */
export function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  return viaTemp(path, (tmp) => writeFile(tmp, data))
}

/** Copies `from` to `to` atomically: `to` is complete or absent. Creates the parent folder. */
export function copyFileAtomic(from: string, to: string): Promise<void> {
  return viaTemp(to, (tmp) => copyFile(from, tmp))
}

/** Synchronous {@link writeFileAtomic}, for writes that must land before the next line runs (the run folder). */
export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  const tmp = tempName(path)
  try {
    writeFileSync(tmp, data)
    renameSync(tmp, path)
  } catch (e) {
    rmSync(tmp, { force: true })
    throw e
  }
}

/** Writes JSON with two-space indentation and a final newline, atomically. */
export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`)
}

/** Streams a file through `write(handle)` into a temp file, then renames it to `path`. */
export async function withAtomicFile(path: string, write: (handle: FileHandle) => Promise<void>): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const tmp = tempName(path)
  const handle = await open(tmp, 'w')
  try {
    await write(handle)
    await handle.sync()
    await handle.close()
    await rename(tmp, path)
  } catch (e) {
    await handle.close().catch(() => undefined)
    await rm(tmp, { force: true })
    throw e
  }
}
