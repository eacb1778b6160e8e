// JSON.parse's errors name a character position (Node 20: "… in JSON at position 7") or none
// ("Unexpected end of JSON input"); a user fixing a file needs the line and column, so the
// position is turned into both. The end of input is the length of the text.

/** The parsed value, or why the text is not JSON with the line, column and character position. */
export type JsonParse = { ok: true; value: unknown } | { ok: false; reason: string; position: number }

/** Line and column (both from 1) of a character position in `text`. */
export function lineColumn(text: string, position: number): { line: number; column: number } {
  let line = 1
  let start = 0
  for (let i = 0; i < position && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++
      start = i + 1
    }
  }
  return { line, column: position - start + 1 }
}

/** Parses JSON text; a failure says where, as `line 3, column 7 (character 41)`. */
export function parseJsonText(text: string): JsonParse {
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch (e) {
    const message = (e as Error).message
    const at = /at position (\d+)/.exec(message)
    const position = at ? Number(at[1]) : text.length
    const { line, column } = lineColumn(text, position)
    const detail = message.replace(/ in JSON at position \d+.*$/, '').replace(/ at position \d+.*$/, '')
    return { ok: false, position, reason: `not valid JSON at line ${line}, column ${column} (character ${position}): ${detail}` }
  }
}
