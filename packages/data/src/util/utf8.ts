// Strict UTF-8 for user data: an invalid byte is InvalidUtf8 naming the file, the byte offset and
// the line, never a silent U+FFFD. A BOM at the start of a file is skipped (Windows editors write
// one). Memory holds one read chunk (1 MiB) plus at most 3 carried bytes.
import { isUtf8 } from 'node:buffer'
import { createReadStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { fail, isTunekitError, rethrowFileError } from '@tunekit/core'

const CHUNK = 1 << 20

const hasBom = (b: Uint8Array): boolean => b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf

/** Bytes after a UTF-8 lead byte (-1: not a lead byte). */
const followers = (b: number): number => (b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1)

/**
 * Index of the first byte of `bytes` that starts no valid UTF-8 sequence (an overlong form, a
 * surrogate, a stray continuation byte, a sequence cut short), or -1 when every byte is valid.
 * Only called once `isUtf8` said no, so its speed does not matter.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0
  while (i < bytes.length) {
    const b = bytes[i]!
    const n = followers(b)
    if (n === 0) {
      i++
      continue
    }
    if (n < 0 || i + n >= bytes.length) return i // not a lead byte, or cut short by the end
    // the second byte's range excludes overlong forms (E0, F0), surrogates (ED) and > U+10FFFF (F4)
    const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80
    const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf
    if (bytes[i + 1]! < lo || bytes[i + 1]! > hi) return i
    for (let k = 2; k <= n; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return i
    i += n + 1
  }
  return -1
}

/** How many bytes at the end of `bytes` begin a sequence that the next chunk completes. */
function openTail(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const b = bytes[bytes.length - back]!
    if ((b & 0xc0) === 0x80) continue // a continuation byte: look further back for its lead
    const n = followers(b)
    return n > 0 && n >= back ? back : 0
  }
  return 0
}

function countNewlines(bytes: Uint8Array, end = bytes.length): number {
  let n = 0
  for (let i = bytes.indexOf(10); i >= 0 && i < end; i = bytes.indexOf(10, i + 1)) n++
  return n
}

/** Throws InvalidUtf8 for `bytes` (which start at file offset `base`, on line `line`). */
function invalid(path: string, at: string, bytes: Uint8Array, base: number, line: number): never {
  const bad = Math.max(0, firstInvalidUtf8(bytes))
  const shown = [...bytes.subarray(bad, bad + 4)].map((b) => `0x${b.toString(16).toUpperCase().padStart(2, '0')}`).join(' ')
  return fail('InvalidUtf8', { path: at, value: path }, path, base + bad, line + countNewlines(bytes, bad), shown)
}

/**
 * Streams a file as checked UTF-8 text, one chunk at a time; `at` is the recipe path errors
 * name (a file the user may not read is DataFileUnreadable).
 */
export async function* readUtf8(path: string, at = 'data.source.path'): AsyncGenerator<string> {
  const input = createReadStream(path, { highWaterMark: CHUNK })
  let carry: Uint8Array = new Uint8Array(0)
  let offset = 0 // file offset of carry[0]
  let line = 1
  let first = true
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      const bytes = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk
      const start = first && hasBom(bytes) ? 3 : 0
      first = false
      const end = Math.max(start, bytes.length - openTail(bytes))
      const piece = bytes.subarray(start, end)
      if (!isUtf8(piece)) invalid(path, at, piece, offset + start, line)
      line += countNewlines(piece)
      carry = Uint8Array.from(bytes.subarray(end))
      offset += end
      if (piece.length > 0) yield piece.toString('utf8')
    }
  } catch (e) {
    if (isTunekitError(e)) throw e
    rethrowFileError(e, path, at)
  } finally {
    input.destroy()
  }
  if (carry.length > 0) invalid(path, at, carry, offset, line)
}

/** A whole file as checked UTF-8 text, BOM skipped (for `.json`, parsed whole). */
export async function readUtf8File(path: string, at = 'data.source.path'): Promise<string> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (e) {
    return rethrowFileError(e, path, at)
  }
  const start = hasBom(bytes) ? 3 : 0
  const text = bytes.subarray(start)
  if (!isUtf8(text)) invalid(path, at, text, start, 1)
  return text.toString('utf8')
}
