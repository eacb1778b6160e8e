// Where JSON.parse gave up, as a line and column a user can jump to. V8 says "at position N"
// (a UTF-16 index) or, for a truncated text, "Unexpected end of JSON input" with no position.

/** Line and column (1-based) of UTF-16 index `index` in `text`. */
export function lineColumn(text: string, index: number): { line: number; column: number } {
  let line = 1
  let lineStart = 0
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) {
    line++
    lineStart = i + 1
  }
  return { line, column: index - lineStart + 1 }
}

/**
 * What a JSON.parse `error` on `text` means for a user: V8's message without its position, and the
 * line and column where parsing stopped (the end of the text when it is truncated), when known.
 */
export function jsonParseProblem(error: unknown, text: string): { message: string; line?: number; column?: number; truncated: boolean } {
  const raw = error instanceof Error ? error.message : String(error)
  const at = /at position (\d+)/.exec(raw)
  const index = at ? Number(at[1]) : /end of JSON input/.test(raw) ? text.length : undefined
  // stopping at the very end (an unterminated string, a missing bracket) means the text was cut short
  const truncated = index !== undefined && index >= text.trimEnd().length
  const message = raw.replace(/ (in JSON )?at position \d+.*$/, '')
  return index === undefined ? { message, truncated } : { message, truncated, ...lineColumn(text, index) }
}
