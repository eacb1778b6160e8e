// The image files a multimodal dataset's records name (LLaMA-Factory's `images` column, openai
// `image_url` parts), resolved as the format node resolves them (@tunekit/data formats/images.ts and
// run-format.ts): they go into the format node's reads, so that new bytes under the same path give
// new keys to format, tokenize and everything after. A data file that mentions no image is never
// parsed here. Parquet files are not read here (core has no parquet reader): their images are not
// in the key (docs/multimodal.md).
import { readFileSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Recipe } from '../define.ts'
import { CsvParser } from '../fs/csv-parser.ts'
import { readDatasetInfoEntry } from '../fs/dataset-info-entry.ts'
import type { CompileOptions } from './options.ts'

type Row = Record<string, unknown>

/** The image paths of one record, as written: `column` entries, then openai image_url parts' local urls. */
function recordImages(record: unknown, column: string | undefined): string[] {
  if (typeof record !== 'object' || record === null) return []
  const r = record as Row
  const out: string[] = []
  for (const m of Array.isArray(r.messages) ? r.messages : []) {
    const content = (m as Row | null)?.content
    for (const part of Array.isArray(content) ? content : []) {
      const field = (part as Row | null)?.image_url
      const url = typeof field === 'string' ? field : (field as Row | null)?.url
      if (typeof url === 'string' && url.startsWith('file://')) out.push(fileURLToPath(url))
      else if (typeof url === 'string' && url !== '' && !/^[a-z][a-z0-9+.-]*:/i.test(url)) out.push(url)
    }
  }
  const images = column === undefined ? undefined : r[column]
  for (const v of Array.isArray(images) ? images : images === undefined || images === null ? [] : [images]) if (typeof v === 'string' && v !== '') out.push(v)
  return out
}

/** A CSV file's rows as records (the header names the columns, as the CSV source reads them); rows the source reports as bad are left out. */
function csvRecords(text: string): Row[] {
  const parser = new CsvParser()
  const [header, ...rows] = [...parser.push(text.replace(/^\uFEFF/, '')), ...parser.end()]
  if (!header) return []
  const names = header.fields.map((f) => f.trim())
  return rows.filter((r) => !r.unclosed && r.fields.length === names.length).map((r) => Object.fromEntries(names.map((n, i) => [n, r.fields[i]])))
}

/** The records of a JSON / JSON-lines / CSV data file that mentions images (others: none, without parsing). */
function recordsMentioningImages(file: string, column: string | undefined): unknown[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return [] // the source node reports unreadable files
  }
  // a CSV's images are a column (one path a cell), which its header names
  if (/\.csv$/i.test(file)) return column !== undefined && text.includes(column) ? csvRecords(text) : []
  if (!text.includes('"images"') && !text.includes('image_url')) return []
  const parse = (line: string): unknown => {
    try {
      return JSON.parse(line)
    } catch {
      return undefined // the source node reports the line
    }
  }
  if (/\.json$/i.test(file)) {
    const all = parse(text.replace(/^\uFEFF/, ''))
    return Array.isArray(all) ? all : [all]
  }
  return text.split('\n').filter((l) => l.includes('"images"') || l.includes('image_url')).map(parse)
}

/** Absolute paths of every image the recipe's records name, sorted, for the format node's reads. */
export function imageReadPaths(recipe: Recipe, opts: CompileOptions, dataFiles: readonly string[]): string[] {
  const { format, source } = recipe.data
  const kind = typeof format === 'string' ? format : format.kind
  if (!['alpaca', 'sharegpt', 'openai', 'dataset-info'].includes(kind)) return []
  let column: string | undefined = 'images'
  let datasetDir: string | undefined
  if (typeof format === 'object' && format.kind === 'dataset-info') {
    try {
      const { entry, path } = readDatasetInfoEntry(format.file, format.name, opts.baseDir)
      column = entry.columns?.images
      datasetDir = dirname(path)
    } catch {
      return [] // compile reports the entry itself
    }
  }
  const paths = new Set<string>()
  const add = (records: readonly unknown[], dir: string): void => {
    for (const r of records) for (const p of recordImages(r, column)) paths.add(isAbsolute(p) ? p : resolve(datasetDir ?? dir, p))
  }
  if (source.kind === 'inline') add(source.records, opts.baseDir)
  else for (const file of dataFiles) if (/\.(json|jsonl|ndjson|csv)$/i.test(file)) add(recordsMentioningImages(file, column), dirname(file))
  return [...paths].sort()
}
