import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { createWriteStream, type WriteStream } from 'node:fs'
import { once } from 'node:events'

/** Streams a text file line by line (1-based line numbers); memory holds one line at a time. */
export async function* readLines(path: string): AsyncGenerator<{ line: string; number: number }> {
  const input = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 })
  const reader = createInterface({ input, crlfDelay: Infinity })
  let number = 0
  try {
    for await (const line of reader) {
      number++
      yield { line, number }
    }
  } finally {
    reader.close()
    input.destroy()
  }
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
      pending += `${JSON.stringify(value)}\n`
      if (pending.length > 1 << 16) await flush()
    },
    close: async () => {
      await flush()
      out.end()
      await once(out, 'finish')
    },
  }
}
