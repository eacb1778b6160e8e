import { mkdir } from 'node:fs/promises'
import { isAbsolute, join, resolve } from 'node:path'
import type { Source } from '@tunekit/core'
import { jsonLinesWriter } from '../util/lines.ts'
import { fail, resolveDatasetInfoFile, writeJsonAtomic } from '@tunekit/core'
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

/** A dataset_info.json entry's `file_name` (compile puts it in the source's params): its file is the one read. */
export interface DatasetInfoPick {
  /** The dataset_info.json, as the recipe names it (relative to the recipe's folder). */
  file: string
  /** The entry's name. */
  name: string
  /** The entry's file_name, relative to the folder of dataset_info.json. */
  fileName: string
}

/**
 * The files a source reads (hub: the cached or downloaded snapshot's files of the split); with a
 * dataset_info pick, only the file it names, which must be among them (DatasetInfoFileNotInSource).
 */
export async function sourceFiles(source: Source, baseDir: string, pick?: DatasetInfoPick): Promise<{ path: string; type: FileType }[]> {
  if (source.kind === 'inline') return []
  if (source.kind === 'hub') {
    const files = await hubDatasetFiles(source.repo, { revision: source.revision, split: source.split })
    return files.map((path) => ({ path, type: fileTypeOf(path)! }))
  }
  const paths = (Array.isArray(source.path) ? source.path : [source.path]).map((p) => (isAbsolute(p) ? p : resolve(baseDir, p)))
  let files = await expandPaths(paths, source.type)
  if (pick) {
    const picked = resolveDatasetInfoFile(isAbsolute(pick.file) ? pick.file : resolve(baseDir, pick.file), pick.name, pick.fileName)
    if (!files.includes(picked)) fail('DatasetInfoFileNotInSource', { path: 'data.source.path', value: source.path }, pick.name, picked, files)
    files = [picked]
  }
  return files.map((path) => ({ path, type: source.type ?? fileTypeOf(path)! }))
}

/** The origins a source's records come from: its files, or the recipe for inline records. */
export async function sourceOrigins(source: Source, baseDir: string, pick?: DatasetInfoPick): Promise<{ origins: SourceOrigin[]; files: { path: string; type: FileType }[] }> {
  if (source.kind === 'inline') return { origins: [{ file: 'inline records', unit: 'record' }], files: [] }
  const files = await sourceFiles(source, baseDir, pick)
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

/**
 * The source node's work: writes `records.jsonl` and `source.json` into `outDir`. Files that hold
 * no record at all are NoRecords (an empty file says more than "no sample" two steps later).
 */
export async function runSource(source: Source, outDir: string, opts: { baseDir: string; limit?: number | undefined; datasetInfo?: DatasetInfoPick | undefined }): Promise<SourceSummary> {
  await mkdir(outDir, { recursive: true })
  const { origins, files } = await sourceOrigins(source, opts.baseDir, opts.datasetInfo)
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
  if (records === 0 && files.length > 0) fail('NoRecords', { path: 'data.source.path', value: source.kind === 'file' ? source.path : files[0]!.path }, files.map((f) => f.path))
  const summary: SourceSummary = { origins, records, malformed, limit: opts.limit ?? null }
  await writeJsonAtomic(join(outDir, 'source.json'), summary)
  return summary
}
