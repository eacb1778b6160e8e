// RFC 4180 CSV, fed in chunks: the one parser of @tunekit/data's CSV source (readCsvRows streams a
// file through it) and of compile's image reads (graph/image-reads.ts: a CSV's `images` column).

/** A parsed row: its fields, the 1-based line it starts on, and `unclosed` for a last row whose quoted field never closes. */
export interface CsvRow {
  fields: string[]
  line: number
  unclosed?: true
}

/**
 * Quoted fields may hold commas, doubled quotes and newlines; `\n`, `\r\n` and `\r` end rows; blank
 * lines are skipped. Memory holds one row: `push` returns the rows a chunk completes, `end` the last.
 */
export class CsvParser {
  private fields: string[] = []
  private field = ''
  private quoted = false
  private afterQuote = false
  private line = 1
  private rowLine = 1
  private pendingCr = false

  push(chunk: string): CsvRow[] {
    const rows: CsvRow[] = []
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!
      if (this.pendingCr) {
        this.pendingCr = false
        if (c === '\n') continue
      }
      if (this.quoted) {
        if (c === '"') {
          this.quoted = false
          this.afterQuote = true
        } else {
          if (c === '\n') this.line++
          this.field += c
        }
        continue
      }
      if (c === '"') {
        // a doubled quote inside a quoted field, or the opening quote
        if (this.afterQuote) this.field += '"'
        this.quoted = true
        this.afterQuote = false
      } else if (c === ',') {
        this.fields.push(this.field)
        this.field = ''
        this.afterQuote = false
      } else if (c === '\n' || c === '\r') {
        this.pendingCr = c === '\r'
        this.fields.push(this.field)
        if (!(this.fields.length === 1 && this.fields[0] === '')) rows.push({ fields: this.fields, line: this.rowLine })
        this.fields = []
        this.field = ''
        this.afterQuote = false
        this.line++
        this.rowLine = this.line
      } else {
        this.field += c
        this.afterQuote = false
      }
    }
    return rows
  }

  end(): CsvRow[] {
    if (this.quoted) return [{ fields: [...this.fields, this.field], line: this.rowLine, unclosed: true }]
    if (this.field !== '' || this.fields.length > 0) return [{ fields: [...this.fields, this.field], line: this.rowLine }]
    return []
  }
}
