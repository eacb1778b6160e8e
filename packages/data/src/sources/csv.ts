import { readUtf8 } from '../util/utf8.ts'

/**
 * Streams an RFC 4180 CSV file as rows of strings. Quoted fields may hold commas, doubled quotes
 * and newlines; memory holds one row plus one read chunk. `line` is the 1-based line where the row
 * starts, for error messages; `unclosed` marks a last row whose quoted field never closes (a
 * truncated file, or a stray quote). The text is checked UTF-8, a BOM skipped.
 */
export async function* readCsvRows(path: string): AsyncGenerator<{ fields: string[]; line: number; unclosed?: true }> {
  let fields: string[] = []
  let field = ''
  let quoted = false
  let afterQuote = false
  let line = 1
  let rowLine = 1
  let pendingCr = false
  for await (const chunk of readUtf8(path)) {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!
      if (pendingCr) {
        pendingCr = false
        if (c === '\n') continue
      }
      if (quoted) {
        if (c === '"') {
          quoted = false
          afterQuote = true
        } else {
          if (c === '\n') line++
          field += c
        }
        continue
      }
      if (c === '"') {
        // a doubled quote inside a quoted field, or the opening quote
        if (afterQuote) field += '"'
        quoted = true
        afterQuote = false
      } else if (c === ',') {
        fields.push(field)
        field = ''
        afterQuote = false
      } else if (c === '\n' || c === '\r') {
        pendingCr = c === '\r'
        fields.push(field)
        if (!(fields.length === 1 && fields[0] === '')) yield { fields, line: rowLine }
        fields = []
        field = ''
        afterQuote = false
        line++
        rowLine = line
      } else {
        field += c
        afterQuote = false
      }
    }
  }
  if (quoted) {
    fields.push(field)
    yield { fields, line: rowLine, unclosed: true }
  } else if (field !== '' || fields.length > 0) {
    fields.push(field)
    yield { fields, line: rowLine }
  }
}
