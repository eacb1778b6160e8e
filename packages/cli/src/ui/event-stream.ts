// A run's events.jsonl as server-sent events: every line written so far, then each new one as
// the run appends it. The runner appends whole lines synchronously, so a read may end inside a
// line only while it is being written; that part waits for the next read.
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs'
import type { ServerResponse } from 'node:http'
import { join } from 'node:path'

/** How often the file is looked at for new lines (ms): curves move at most this late. */
const POLL_MS = 200

/** Reads the bytes of `file` from `offset` on (none when it does not exist yet). */
function readFrom(file: string, offset: number): Buffer {
  if (!existsSync(file)) return Buffer.alloc(0)
  const fd = openSync(file, 'r')
  try {
    const size = fstatSync(fd).size
    if (size <= offset) return Buffer.alloc(0)
    const bytes = Buffer.alloc(size - offset)
    readSync(fd, bytes, 0, bytes.length, offset)
    return bytes
  } finally {
    closeSync(fd)
  }
}

/** Streams `<runDir>/events.jsonl` to `res` as `data:` messages, one per line, until the client goes. */
export function streamEvents(runDir: string, res: ServerResponse): void {
  const file = join(runDir, 'events.jsonl')
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' })
  let offset = 0
  const pump = (): void => {
    const bytes = readFrom(file, offset)
    const end = bytes.lastIndexOf(0x0a) + 1 // up to the last complete line
    if (end === 0) return
    offset += end
    for (const line of bytes.subarray(0, end).toString('utf8').split('\n')) if (line !== '') res.write(`data: ${line}\n\n`)
  }
  pump()
  res.write(': caught up\n\n')
  const timer = setInterval(pump, POLL_MS)
  res.on('close', () => clearInterval(timer))
}
