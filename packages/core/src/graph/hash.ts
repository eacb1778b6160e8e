import { createHash } from 'node:crypto'
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

export { canonicalJson, toJson } from '../json.ts'

export const sha256 = (text: string | Uint8Array): string => createHash('sha256').update(text).digest('hex')

/** sha256 of a file's bytes, streamed so a multi-gigabyte file never sits in memory. */
export function hashFileStreaming(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256')
    createReadStream(path, { highWaterMark: 4 << 20 }) // 4 MiB chunks
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')))
  })
}

interface MemoEntry {
  size: number
  mtimeMs: number
  hash: string
}

/**
 * Hashes files, remembering each hash by (path, size, mtime) in a small JSON index so a second
 * compile reads no file again. Without `indexFile` it remembers only in memory.
 */
export interface FileHasher {
  /** sha256 of the file, or `'missing'` when it does not exist. */
  hash: (path: string) => Promise<string>
  /** Writes the index (temp file + rename) when something new was hashed. */
  save: () => void
}

export function createFileHasher(indexFile?: string): FileHasher {
  let memo: Record<string, MemoEntry> = {}
  if (indexFile && existsSync(indexFile)) {
    try {
      memo = JSON.parse(readFileSync(indexFile, 'utf8')) as Record<string, MemoEntry>
    } catch {
      memo = {} // a damaged index only costs re-hashing
    }
  }
  let dirty = false
  return {
    async hash(path) {
      if (!existsSync(path)) return 'missing'
      const st = statSync(path)
      const known = memo[path]
      if (known && known.size === st.size && known.mtimeMs === st.mtimeMs) return known.hash
      const hash = await hashFileStreaming(path)
      memo[path] = { size: st.size, mtimeMs: st.mtimeMs, hash }
      dirty = true
      return hash
    },
    save() {
      if (!indexFile || !dirty) return
      mkdirSync(dirname(indexFile), { recursive: true })
      const tmp = join(dirname(indexFile), `.file-hashes.${process.pid}.${Date.now()}.tmp`)
      writeFileSync(tmp, JSON.stringify(memo))
      renameSync(tmp, indexFile)
      dirty = false
    },
  }
}
