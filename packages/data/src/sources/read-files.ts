import { readdir, readFile, stat } from 'node:fs/promises'
import { extname, join } from 'node:path'
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet'
import { fail } from '@tunekit/core'
import { readLines } from '../util/lines.ts'
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

/** Expands folders (recursively, sorted) into the data files they hold. */
export async function expandPaths(paths: readonly string[], type?: FileType): Promise<string[]> {
  const out: string[] = []
  for (const path of paths) {
    let info
    try {
      info = await stat(path)
    } catch {
      fail('DataFileNotFound', { path: 'data.source.path', value: path }, path)
    }
    if (info.isDirectory()) {
      const entries = (await readdir(path, { recursive: true, withFileTypes: true }))
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name))
        .filter((p) => fileTypeOf(p) !== undefined && !p.endsWith('dataset_info.json'))
        // a folder's .txt files are documents only when the source says type: 'text' (else they are notes)
        .filter((p) => fileTypeOf(p) !== 'text' || type === 'text')
        .sort()
      out.push(...entries)
    } else {
      if (type === undefined && fileTypeOf(path) === undefined)
        fail('InvalidValue', { path: 'data.source.type', value: path }, fileTypes)
      out.push(path)
    }
  }
  return out
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Streams the records of one file: JSON lines one line at a time, parquet one row group at a time,
 * CSV one row at a time (the header names the columns). A `.json` file is one array and is parsed
 * whole. `line` is the JSONL/CSV line or the 1-based record number.
 */
export async function* readRecords(path: string, type = fileTypeOf(path)): AsyncGenerator<SourceItem> {
  if (type === 'jsonl') {
    for await (const { line, number } of readLines(path)) {
      if (line.trim() === '') continue
      let value: unknown
      try {
        value = JSON.parse(line)
      } catch (e) {
        yield { error: `malformed JSON (${(e as Error).message})`, line: number }
        continue
      }
      if (isRecord(value)) yield { record: value, line: number }
      else yield { error: `expected a JSON object, got ${Array.isArray(value) ? 'an array' : typeof value}`, line: number }
    }
  } else if (type === 'text') {
    // Plain text: one document per non-empty line (as `datasets`' text loader, LLaMA-Factory's pt data).
    for await (const { line, number } of readLines(path)) {
      if (line.trim() !== '') yield { record: { text: line }, line: number }
    }
  } else if (type === 'json') {
    let value: unknown
    try {
      value = JSON.parse(await readFile(path, 'utf8'))
    } catch (e) {
      yield { error: `malformed JSON (${(e as Error).message})`, line: 0 }
      return
    }
    const rows = Array.isArray(value) ? value : isRecord(value) && Array.isArray(value.data) ? value.data : [value]
    let n = 0
    for (const row of rows) {
      n++
      if (isRecord(row)) yield { record: row, line: n }
      else yield { error: `expected a JSON object, got ${typeof row}`, line: n }
    }
  } else if (type === 'csv') {
    let header: string[] | undefined
    for await (const { fields, line } of readCsvRows(path)) {
      if (!header) {
        header = fields.map((f) => f.replace(/^\uFEFF/, '').trim())
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
    const file = await asyncBufferFromFile(path)
    const metadata = await parquetMetadataAsync(file)
    let rowStart = 0
    // one row group at a time keeps memory at the size of the largest row group
    for (const group of metadata.row_groups) {
      const rowEnd = rowStart + Number(group.num_rows)
      const rows = await parquetReadObjects({ file, metadata, rowStart, rowEnd })
      let n = rowStart
      for (const row of rows) yield { record: toPlain(row) as Record<string, unknown>, line: ++n }
      rowStart = rowEnd
    }
  } else {
    fail('InvalidValue', { path: 'data.source.type', value: path }, fileTypes)
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
