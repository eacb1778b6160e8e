// JSON.parse's errors name a character position (Node 20: "… in JSON at position 7") or none
// ("Unexpected end of JSON input"); a user fixing a file needs the line and column, so the
// position is turned into both. The end of input is the length of the text.

/** The parsed value, or why the text is not JSON with the line, column and character position. */
export type JsonParse = { ok: true; value: unknown } | { ok: false; reason: string; position: number }

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
export function jsonParseProblem(error: unknown, text: string): { message: string; index?: number; line?: number; column?: number; truncated: boolean } {
  const raw = error instanceof Error ? error.message : String(error)
  const at = /at position (\d+)/.exec(raw)
  const index = at ? Number(at[1]) : /end of JSON input/.test(raw) ? text.length : undefined
  // stopping at the very end (an unterminated string, a missing bracket) means the text was cut short
  const truncated = index !== undefined && index >= text.trimEnd().length
  const message = raw.replace(/ (in JSON )?at position \d+.*$/, '')
  return index === undefined ? { message, truncated } : { message, truncated, index, ...lineColumn(text, index) }
}

/** Parses JSON text; a failure says where, as `line 3, column 7 (character 41)`. */
export function parseJsonText(text: string): JsonParse {
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch (e) {
    const p = jsonParseProblem(e, text)
    const position = p.index ?? text.length
    const { line, column } = lineColumn(text, position)
    return { ok: false, position, reason: `not valid JSON at line ${line}, column ${column} (character ${position}): ${p.message}` }
  }
}
