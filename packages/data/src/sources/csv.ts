import { createReadStream } from 'node:fs'

/**
 * Streams an RFC 4180 CSV file as rows of strings. Quoted fields may hold commas, doubled quotes
 * and newlines; memory holds one row plus one read chunk. `line` is the 1-based line where the row
 * starts, for error messages.
 */
export async function* readCsvRows(path: string): AsyncGenerator<{ fields: string[]; line: number }> {
  let fields: string[] = []
  let field = ''
  let quoted = false
  let afterQuote = false
  let line = 1
  let rowLine = 1
  let pendingCr = false
  const input = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 })
  for await (const chunk of input as AsyncIterable<string>) {
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
  if (field !== '' || fields.length > 0) {
    fields.push(field)
    yield { fields, line: rowLine }
  }
}
