// The chunk layer of PNG (https://www.w3.org/TR/png-3/#5Chunk-layout): signature, then chunks of
// length (uint32 BE) · type (4 ASCII bytes) · data · CRC-32 of type + data, ending with IEND.
import { fail } from '@tunekit/core'
import { crc32 } from './crc32.ts'

/** The 8 bytes every PNG starts with. */
export const pngSignature = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)

export interface PngChunk {
  type: string
  data: Uint8Array
}

// Formats people hand in instead of a PNG, by their first bytes: the error names what the file is.
const otherFormats: [string, number[]][] = [
  ['a JPEG', [0xff, 0xd8, 0xff]],
  ['a GIF', [0x47, 0x49, 0x46, 0x38]],
  ['a BMP', [0x42, 0x4d]],
  ['a WebP', [0x52, 0x49, 0x46, 0x46]],
]

const startsWith = (bytes: Uint8Array, prefix: ArrayLike<number>): boolean => Array.prototype.every.call(prefix, (b: number, i: number) => bytes[i] === b)

/** Why `bytes` is not a PNG, in words, or undefined when its signature is PNG's. */
function notPng(bytes: Uint8Array): string | undefined {
  if (startsWith(bytes, pngSignature)) return undefined
  const other = otherFormats.find(([, magic]) => startsWith(bytes, magic))
  if (other) return `it is ${other[0]} file, and tunekit decodes PNG only`
  const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ')
  return `it is not a PNG (its first bytes are ${head || 'none: the file is empty'})`
}

/** The chunks of a PNG file, each CRC-checked; fails with ImageUnreadable naming `file`. */
export function pngChunks(bytes: Uint8Array, file: string): PngChunk[] {
  const bad = (reason: string): never => fail('ImageUnreadable', { path: file, value: file }, file, reason)
  const why = notPng(bytes)
  if (why) bad(why)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const chunks: PngChunk[] = []
  let pos = pngSignature.length
  while (chunks.at(-1)?.type !== 'IEND') {
    if (pos + 12 > bytes.length) bad(`it is cut short at byte ${bytes.length} (no IEND chunk)`)
    const length = view.getUint32(pos)
    const typeBytes = bytes.subarray(pos + 4, pos + 8)
    const type = String.fromCharCode(...typeBytes)
    if (pos + 12 + length > bytes.length) bad(`its ${type} chunk at byte ${pos} runs past the end of the file`)
    const data = bytes.subarray(pos + 8, pos + 8 + length)
    if (crc32(typeBytes, data) !== view.getUint32(pos + 8 + length)) bad(`its ${type} chunk at byte ${pos} fails its CRC check (the file is damaged)`)
    chunks.push({ type, data })
    pos += 12 + length
  }
  return chunks
}
