// The one listing of data files, shared by compile (what a node's key hashes) and the source node
// (what it reads), so the two never disagree about which files a folder holds.
import { lstatSync, readdirSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs'
import { join } from 'node:path'
import { fail, issue, type Issue } from '../errors/tunekit-error.ts'
import { rethrowFileError } from './file-issue.ts'

/** Extensions of the files a folder source reads (`.ndjson` is JSON lines). */
export const dataFileExtensions = ['.json', '.jsonl', '.ndjson', '.csv', '.parquet'] as const

const DATA_FILE = /\.(json|jsonl|ndjson|csv|parquet)$/i

/** Whether a file name inside a data folder is data (LLaMA-Factory's dataset_info.json is not); `.txt` only for a `type: 'text'` source (folders hold notes too). */
export const isDataFileName = (name: string, text = false): boolean => (DATA_FILE.test(name) || (text && /\.txt$/i.test(name))) && name !== 'dataset_info.json'

const kindOf = (st: Stats): string =>
  st.isFIFO() ? 'a FIFO (named pipe)' : st.isSocket() ? 'a socket' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'not a regular file'

/** stat through a link, naming the link when it loops or points nowhere. */
function follow(link: string, at: string): Stats {
  try {
    return statSync(link)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ELOOP') fail('DataSymlinkLoop', { path: at, value: link }, link, `it resolves through ${readlinkSync(link)} back to itself`)
    if (code === 'ENOENT') fail('BrokenDataLink', { path: at, value: link }, link, readlinkSync(link))
    return rethrowFileError(e, link, at)
  }
}

function walk(dir: string, chain: readonly string[], at: string, out: string[], text: boolean): void {
  let names: string[]
  try {
    names = readdirSync(dir).sort()
  } catch (e) {
    rethrowFileError(e, dir, at)
  }
  for (const name of names) {
    const full = join(dir, name)
    let st: Stats
    try {
      st = lstatSync(full)
    } catch (e) {
      rethrowFileError(e, full, at)
    }
    if (st.isSymbolicLink()) {
      // A link that points nowhere is only an error when it is named like data.
      try {
        st = statSync(full)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !isDataFileName(name, text)) continue
        st = follow(full, at)
      }
      if (st.isDirectory()) {
        const real = realpathSync(full)
        if (chain.includes(real)) fail('DataSymlinkLoop', { path: at, value: full }, full, `it points at ${real}, a folder that holds it`)
      }
    }
    if (st.isDirectory()) {
      if (!name.startsWith('.')) walk(full, [...chain, realpathSync(full)], at, out, text)
    } else if (isDataFileName(name, text)) {
      if (!st.isFile()) fail('DataFileUnreadable', { path: at, value: full, hintArgs: [full] }, full, `it is ${kindOf(st)}`)
      out.push(full)
    }
  }
}

/**
 * The data files at `path` (named in the recipe at `at`): the file itself, or every data file
 * below a folder, sorted, following links (Hub snapshots link every file to a blob) and skipping
 * hidden folders. A path that does not exist lists as itself, for the caller to report as missing.
 * Throws DataSymlinkLoop for a link back into a folder that holds it, BrokenDataLink for a data
 * link that points nowhere, DataFileUnreadable for what may not be read or is no regular file.
 */
export function listDataFiles(path: string, at = 'data.source.path', text = false): string[] {
  let st: Stats
  try {
    st = lstatSync(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [path]
    return rethrowFileError(e, path, at)
  }
  if (st.isSymbolicLink()) st = follow(path, at)
  if (st.isDirectory()) {
    const out: string[] = []
    walk(path, [realpathSync(path)], at, out, text)
    return out
  }
  if (!st.isFile()) fail('DataFileUnreadable', { path: at, value: path, hintArgs: [path] }, path, `it is ${kindOf(st)}`)
  return [path]
}

/** NoDataFiles for a folder that lists no data file, naming what it holds instead. */
export function noDataFilesIssue(folder: string, at: string, value: string = folder): Issue {
  let names: string[] = []
  try {
    names = readdirSync(folder).sort()
  } catch {
    // the listing itself reported any error reading the folder
  }
  return issue('NoDataFiles', { path: at, value }, folder, names)
}
