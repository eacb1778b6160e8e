import { mkdir } from 'node:fs/promises'
import { isAbsolute, join, resolve } from 'node:path'
import type { Source } from '@tunekit/core'
import { jsonLinesWriter } from '../util/lines.ts'
import { writeJsonAtomic } from '@tunekit/core'
import { expandPaths, fileTypeOf, readRecords, type FileType, type SourceItem } from './read-files.ts'
import { hubDatasetFiles } from './hub.ts'

/** Where a record came from: a file (with the unit its `line` counts) or the recipe itself. */
export interface SourceOrigin {
  file: string
  unit: 'line' | 'record'
}

/** One line of `records.jsonl`: the record or the parse error, and where it came from. */
export type RecordLine = { origin: number; line: number } & ({ record: Record<string, unknown> } | { error: string })

/** `source.json`: what the source node read. */
export interface SourceSummary {
  origins: SourceOrigin[]
  /** Records written (parse errors included; the format step decides about them). */
  records: number
  /** Lines that could not be parsed. */
  malformed: number
  limit: number | null
}

/** The files a source reads (hub: the cached or downloaded snapshot's files of the split). */
export async function sourceFiles(source: Source, baseDir: string): Promise<{ path: string; type: FileType }[]> {
  if (source.kind === 'inline') return []
  if (source.kind === 'hub') {
    const files = await hubDatasetFiles(source.repo, { revision: source.revision, split: source.split })
    return files.map((path) => ({ path, type: fileTypeOf(path)! }))
  }
  const paths = (Array.isArray(source.path) ? source.path : [source.path]).map((p) => (isAbsolute(p) ? p : resolve(baseDir, p)))
  const files = await expandPaths(paths, source.type)
  return files.map((path) => ({ path, type: source.type ?? fileTypeOf(path)! }))
}

/** The origins a source's records come from: its files, or the recipe for inline records. */
export async function sourceOrigins(source: Source, baseDir: string): Promise<{ origins: SourceOrigin[]; files: { path: string; type: FileType }[] }> {
  if (source.kind === 'inline') return { origins: [{ file: 'inline records', unit: 'record' }], files: [] }
  const files = await sourceFiles(source, baseDir)
  return { origins: files.map((f) => ({ file: f.path, unit: f.type === 'jsonl' || f.type === 'csv' ? 'line' : 'record' })), files }
}

/** Streams every record of a source, in file order, with its origin; stops after `limit` records. */
export async function* readSource(
  source: Source,
  opts: { baseDir: string; limit?: number | undefined; files?: { path: string; type: FileType }[] },
): AsyncGenerator<RecordLine> {
  const limit = opts.limit ?? Infinity
  let count = 0
  if (source.kind === 'inline') {
    for (const [i, record] of source.records.entries()) {
      if (count++ >= limit) return
      yield { origin: 0, line: i + 1, record }
    }
    return
  }
  const files = opts.files ?? (await sourceFiles(source, opts.baseDir))
  for (const [origin, f] of files.entries()) {
    for await (const item of readRecords(f.path, f.type) as AsyncGenerator<SourceItem>) {
      if (count++ >= limit) return
      yield { origin, ...item }
    }
  }
}

/** The source node's work: writes `records.jsonl` and `source.json` into `outDir`. */
export async function runSource(source: Source, outDir: string, opts: { baseDir: string; limit?: number | undefined }): Promise<SourceSummary> {
  await mkdir(outDir, { recursive: true })
  const { origins, files } = await sourceOrigins(source, opts.baseDir)
  const out = jsonLinesWriter(join(outDir, 'records.jsonl'))
  let records = 0
  let malformed = 0
  try {
    for await (const item of readSource(source, { ...opts, files })) {
      records++
      if ('error' in item) malformed++
      await out.write(item)
    }
  } finally {
    await out.close()
  }
  const summary: SourceSummary = { origins, records, malformed, limit: opts.limit ?? null }
  await writeJsonAtomic(join(outDir, 'source.json'), summary)
  return summary
}
