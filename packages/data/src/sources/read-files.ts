import { statSync } from 'node:fs'
import { extname } from 'node:path'
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet'
import { fail, isTunekitError, jsonParseProblem, listDataFiles, noDataFilesIssue, rethrowFileError, TunekitError } from '@tunekit/core'
import { describeValue } from '../util/describe.ts'
import { readLines } from '../util/lines.ts'
import { readUtf8File } from '../util/utf8.ts'
import { readCsvRows } from './csv.ts'

export type FileType = 'json' | 'jsonl' | 'csv' | 'parquet' | 'text'
export const fileTypes: readonly FileType[] = ['json', 'jsonl', 'csv', 'parquet', 'text']

/** One item a source yields: a record, or a line that could not be parsed (the format step decides). */
export type SourceItem =
  | { record: Record<string, unknown>; line: number }
  | { error: string; line: number }

/** The type of a data file from its extension (`.jsonl.gz` is not supported), or undefined. */
export function fileTypeOf(path: string): FileType | undefined {
  const ext = extname(path).slice(1).toLowerCase()
  if (ext === 'ndjson') return 'jsonl'
  if (ext === 'txt') return 'text'
  return (fileTypes as readonly string[]).includes(ext) ? (ext as FileType) : undefined
}

/**
 * Expands folders (recursively, sorted, following links) into the data files they hold, as compile
 * lists them. A path that does not exist is DataFileNotFound, a folder without data NoDataFiles,
 * a file whose type its name does not tell (and `type` does not give) UnknownDataFileType.
 */
export async function expandPaths(paths: readonly string[], type?: FileType): Promise<string[]> {
  const out: string[] = []
  for (const path of paths) {
    const files = listDataFiles(path, 'data.source.path', type === 'text')
    if (files.length === 1 && files[0] === path) {
      let isDir = false
      try {
        isDir = statSync(path).isDirectory()
      } catch {
        fail('DataFileNotFound', { path: 'data.source.path', value: path }, path)
      }
      if (!isDir && type === undefined && fileTypeOf(path) === undefined) fail('UnknownDataFileType', { path: 'data.source.path', value: path }, path)
    }
    if (files.length === 0) throw new TunekitError([noDataFilesIssue(path, 'data.source.path')])
    out.push(...files)
  }
  return out
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** A JSONL line's parse error: V8's reason with the column, inside "malformed JSON (…)". */
function lineProblem(error: unknown, line: string): string {
  const p = jsonParseProblem(error, line)
  return `malformed JSON (${p.message}${p.column ? ` at column ${p.column}` : ''})`
}

/** The records of a parsed `.json` file: an array, or `{ "data": [...] }`; MalformedDataFile otherwise. */
function jsonRows(value: unknown, path: string): unknown[] {
  if (Array.isArray(value)) return value
  if (isRecord(value) && Array.isArray(value.data)) return value.data
  return fail('MalformedDataFile', { path: 'data.source.path', value: path }, path, '', `expected an array of records (or { "data": [...] }), found ${describeValue(value)}`)
}

/**
 * Streams the records of one file: JSON lines one line at a time, parquet one row group at a time,
 * CSV one row at a time (the header names the columns). A `.json` file is one array and is parsed
 * whole. `line` is the JSONL/CSV line or the 1-based record number. A record that cannot be used
 * is yielded as an error (the format step decides); a file that cannot be read at all (not UTF-8,
 * a .json that does not parse or holds no array, no permission) is a catalog error.
 */
export async function* readRecords(path: string, type = fileTypeOf(path)): AsyncGenerator<SourceItem> {
  try {
    yield* readTyped(path, type)
  } catch (e) {
    if (isTunekitError(e)) throw e
    rethrowFileError(e, path, 'data.source.path')
  }
}

async function* readTyped(path: string, type: FileType | undefined): AsyncGenerator<SourceItem> {
  if (type === 'jsonl') {
    for await (const { line, number } of readLines(path)) {
      if (line.trim() === '') continue
      let value: unknown
      try {
        value = JSON.parse(line)
      } catch (e) {
        yield { error: lineProblem(e, line), line: number }
        continue
      }
      if (isRecord(value)) yield { record: value, line: number }
      else yield { error: `expected a JSON object, got ${describeValue(value)}`, line: number }
    }
  } else if (type === 'text') {
    // Plain text: one document per non-empty line (as `datasets`' text loader, LLaMA-Factory's pt data).
    for await (const { line, number } of readLines(path)) {
      if (line.trim() !== '') yield { record: { text: line }, line: number }
    }
  } else if (type === 'json') {
    const text = await readUtf8File(path)
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (e) {
      const p = jsonParseProblem(e, text)
      return fail('MalformedDataFile', { path: 'data.source.path', value: path }, path, p.line ? `line ${p.line} column ${p.column}` : '', `malformed JSON (${p.message})${p.truncated ? '; the text ends before the JSON does: is the file truncated?' : ''}`)
    }
    let n = 0
    for (const row of jsonRows(value, path)) {
      n++
      if (isRecord(row)) yield { record: row, line: n }
      else yield { error: `expected a JSON object, got ${describeValue(row)}`, line: n }
    }
  } else if (type === 'csv') {
    let header: string[] | undefined
    for await (const { fields, line, unclosed } of readCsvRows(path)) {
      if (!header) {
        header = fields.map((f) => f.replace(/^\uFEFF/, '').trim())
        continue
      }
      if (unclosed) {
        yield { error: 'a quoted field is never closed: the row runs to the end of the file (a stray " or a truncated file)', line }
        continue
      }
      if (fields.length !== header.length) {
        yield { error: `expected ${header.length} columns, found ${fields.length}`, line }
        continue
      }
      const record: Record<string, unknown> = {}
      header.forEach((name, i) => (record[name] = fields[i]))
      yield { record, line }
    }
  } else if (type === 'parquet') {
    yield* readParquet(path)
  } else {
    fail('UnknownDataFileType', { path: 'data.source.path', value: path }, path)
  }
}

/** Parquet rows, one row group at a time; a file hyparquet cannot decode is MalformedDataFile. */
async function* readParquet(path: string): AsyncGenerator<SourceItem> {
  const file = await asyncBufferFromFile(path)
  const decoded = async <T>(read: () => Promise<T>): Promise<T> => {
    try {
      return await read()
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== undefined) throw e
      return fail('MalformedDataFile', { path: 'data.source.path', value: path }, path, '', `not a readable parquet file (${(e as Error).message})`)
    }
  }
  const metadata = await decoded(() => parquetMetadataAsync(file))
  let rowStart = 0
  // one row group at a time keeps memory at the size of the largest row group
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows)
    const rows = await decoded(() => parquetReadObjects({ file, metadata, rowStart, rowEnd }))
    let n = rowStart
    for (const row of rows) yield { record: toPlain(row) as Record<string, unknown>, line: ++n }
    rowStart = rowEnd
  }
}

/** Parquet gives bigint for int64 columns; records are JSON, so they become numbers. */
function toPlain(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value)
  if (Array.isArray(value)) return value.map(toPlain)
  if (value instanceof Date) return value.toISOString()
  if (isRecord(value)) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = toPlain(v)
    return out
  }
  return value
}
