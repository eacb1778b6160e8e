import { CsvParser, type CsvRow } from '@tunekit/core'
import { readUtf8 } from '../util/utf8.ts'

/**
 * Streams an RFC 4180 CSV file as rows of strings (core's CsvParser). Quoted fields may hold commas,
 * doubled quotes and newlines; memory holds one row plus one read chunk. `line` is the 1-based line
 * where the row starts, for error messages; `unclosed` marks a last row whose quoted field never
 * closes (a truncated file, or a stray quote). The text is checked UTF-8, a BOM skipped.
 */
export async function* readCsvRows(path: string): AsyncGenerator<CsvRow> {
  const parser = new CsvParser()
  for await (const chunk of readUtf8(path)) yield* parser.push(chunk)
  yield* parser.end()
}
