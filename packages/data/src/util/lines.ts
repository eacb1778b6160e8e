import { createWriteStream, type WriteStream } from 'node:fs'
import { once } from 'node:events'
import { readUtf8 } from './utf8.ts'

/**
 * Streams a text file line by line (1-based line numbers), as readline splits them (`\n`, `\r\n`
 * or a lone `\r`); memory holds one line and one read chunk. The text is checked UTF-8 (a BOM
 * on line 1 is skipped); `at` is the recipe path errors name.
 */
export async function* readLines(path: string, at?: string): AsyncGenerator<{ line: string; number: number }> {
  let pending = ''
  let number = 0
  let afterCr = false
  for await (const text of readUtf8(path, at)) {
    let from = 0
    if (afterCr && text.startsWith('\n')) from = 1 // the \n of a \r\n split across two chunks
    afterCr = false
    const breaks = /\r\n|\r|\n/g
    breaks.lastIndex = from
    for (let m = breaks.exec(text); m; m = breaks.exec(text)) {
      if (m[0] === '\r' && m.index === text.length - 1) afterCr = true
      yield { line: pending + text.slice(from, m.index), number: ++number }
      pending = ''
      from = m.index + m[0].length
    }
    pending += text.slice(from)
  }
  if (pending !== '') yield { line: pending, number: ++number }
}

/** Reads a JSON-lines file written by tunekit itself (one object per non-empty line). */
export async function* readJsonLines<T>(path: string): AsyncGenerator<T> {
  for await (const { line } of readLines(path)) if (line.trim() !== '') yield JSON.parse(line) as T
}

/** A JSON-lines writer that respects back-pressure, so memory stays bounded on large outputs. */
export interface LineWriter {
  write: (value: unknown) => Promise<void>
  close: () => Promise<void>
}

export function jsonLinesWriter(path: string): LineWriter {
  const out: WriteStream = createWriteStream(path, { encoding: 'utf8' })
  let pending = ''
  const flush = async (): Promise<void> => {
    if (pending === '') return
    const chunk = pending
    pending = ''
    if (!out.write(chunk)) await once(out, 'drain')
  }
  return {
    write: async (value) => {
      const line = JSON.stringify(value)
      if (line.length > 1 << 16) {
        // a long record goes out as it is: appending it to `pending` would copy it once more
        await flush()
        if (!out.write(line)) await once(out, 'drain')
        pending = '\n'
        return
      }
      pending += `${line}\n`
      if (pending.length > 1 << 16) await flush()
    },
    close: async () => {
      await flush()
      out.end()
      await once(out, 'finish')
    },
  }
}
