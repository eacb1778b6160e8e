import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * One temporary folder for the whole run, removed at its end: the test files, their Python
 * workers and browsers make their scratch folders under TMPDIR (os.tmpdir(), Python's tempfile),
 * and a cache folder of a torch run is ~150 MB, so folders left by each run filled the disk.
 */
export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'tunekit-tests-'))
  process.env.TMPDIR = dir
  return () => rmSync(dir, { recursive: true, force: true })
}
