// PNG writer for generated images (8 bits per sample, non-interlaced). Each row takes the filter
// with the smallest sum of absolute filtered bytes, libpng's heuristic, so all five filters occur.
import { deflateSync } from 'node:zlib'
import { writeFileAtomic } from '@tunekit/core'
import { crc32 } from './crc32.ts'
import type { RgbImage } from './image.ts'
import { paeth } from './paeth.ts'
import { pngSignature } from './png-chunks.ts'

/** Raw 8-bit pixels of one PNG colour type: 0 gray, 2 RGB, 3 palette (indices), 4 gray + alpha, 6 RGBA. */
export interface PngPixels {
  width: number
  height: number
  colorType: 0 | 2 | 3 | 4 | 6
  /** Row-major samples, channels interleaved. */
  data: Uint8Array
  /** Colour type 3: RGB triples. */
  palette?: Uint8Array
  /** tRNS chunk: palette alphas (type 3), or a 16-bit colour key (types 0 and 2). */
  transparency?: Uint8Array
}

const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as const

const chunk = (type: string, data: Uint8Array): Buffer => {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(data.length, 0)
  head.write(type, 4, 'latin1')
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(head.subarray(4), data))
  return Buffer.concat([head, data, crc])
}

/** One row filtered with each of the five filters; returns the one whose bytes (as signed) sum smallest in magnitude. */
function filterRow(row: Uint8Array, prev: Uint8Array | undefined, bpp: number): Uint8Array {
  let best: Uint8Array | undefined
  let bestCost = Infinity
  for (let f = 0; f < 5; f++) {
    const out = new Uint8Array(row.length + 1)
    out[0] = f
    let cost = 0
    for (let i = 0; i < row.length; i++) {
      const a = i >= bpp ? row[i - bpp]! : 0
      const b = prev ? prev[i]! : 0
      const c = prev && i >= bpp ? prev[i - bpp]! : 0
      const predicted = f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : paeth(a, b, c)
      const v = (row[i]! - predicted) & 0xff
      out[i + 1] = v
      cost += v < 128 ? v : 256 - v
    }
    if (cost < bestCost) [best, bestCost] = [out, cost]
  }
  return best!
}

/** The bytes of a PNG file holding `pixels`. */
export function encodePng(pixels: PngPixels): Uint8Array {
  const bpp = channels[pixels.colorType]
  const rowBytes = pixels.width * bpp
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(pixels.width, 0)
  ihdr.writeUInt32BE(pixels.height, 4)
  ihdr.set([8, pixels.colorType, 0, 0, 0], 8)
  const rows: Uint8Array[] = []
  for (let y = 0; y < pixels.height; y++) {
    const row = pixels.data.subarray(y * rowBytes, (y + 1) * rowBytes)
    rows.push(filterRow(row, y > 0 ? pixels.data.subarray((y - 1) * rowBytes, y * rowBytes) : undefined, bpp))
  }
  return Buffer.concat([
    Buffer.from(pngSignature),
    chunk('IHDR', ihdr),
    ...(pixels.palette ? [chunk('PLTE', pixels.palette)] : []),
    ...(pixels.transparency ? [chunk('tRNS', pixels.transparency)] : []),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', new Uint8Array(0)),
  ])
}

/** Writes an RGB image (or raw PNG pixels of another colour type) to `file` as a PNG, atomically. */
export function writePng(file: string, image: RgbImage | PngPixels): Promise<void> {
  const pixels: PngPixels = 'colorType' in image ? image : { width: image.width, height: image.height, colorType: 2, data: image.data }
  return writeFileAtomic(file, encodePng(pixels))
}
