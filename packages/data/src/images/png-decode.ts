// PNG → 8-bit RGB, as transformers' image processors see the file: PIL opens it, and
// `convert_to_rgb` composites any transparency (an alpha channel or a tRNS chunk) onto white.
// @see https://www.w3.org/TR/png-3/ (filters §7.3, colour types §6.1)
import { readFile } from 'node:fs/promises'
import { inflateSync } from 'node:zlib'
import { fail } from '@tunekit/core'
import { compositeOnWhite } from './composite.ts'
import { rgbImage, type RgbImage } from './image.ts'
import { paeth } from './paeth.ts'
import { pngChunks, type PngChunk } from './png-chunks.ts'

interface Header {
  width: number
  height: number
  bitDepth: number
  colorType: number
  interlace: number
}

// samples per pixel by colour type: gray, -, RGB, palette, gray + alpha, -, RGBA
const channelsOf: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }
const depthsOf: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] }
const kindOf: Record<number, string> = { 0: 'gray', 2: 'RGB', 3: 'palette', 4: 'gray + alpha', 6: 'RGBA' }

// PIL refuses images over twice Image.MAX_IMAGE_PIXELS (89 478 485) as decompression bombs.
const maxPixels = 2 * 89_478_485

function header(chunk: PngChunk | undefined, file: string): Header {
  if (chunk?.type !== 'IHDR' || chunk.data.length !== 13) return fail('ImageUnreadable', { path: file, value: file }, file, 'its first chunk is not a 13-byte IHDR')
  const view = new DataView(chunk.data.buffer, chunk.data.byteOffset, 13)
  const h = { width: view.getUint32(0), height: view.getUint32(4), bitDepth: chunk.data[8]!, colorType: chunk.data[9]!, interlace: chunk.data[12]! }
  const unsupported = (what: string): never => fail('ImageUnsupported', { path: file, value: file }, file, what)
  if (!depthsOf[h.colorType]?.includes(h.bitDepth)) fail('ImageUnreadable', { path: file, value: file }, file, `its header has colour type ${h.colorType} with bit depth ${h.bitDepth}, which PNG does not define`)
  if (h.width === 0 || h.height === 0 || h.width * h.height > maxPixels) fail('ImageUnreadable', { path: file, value: file }, file, `its size ${h.width}×${h.height} is empty or over ${maxPixels} pixels`)
  if (h.bitDepth === 16) unsupported(`${kindOf[h.colorType]} of 16 bits per channel`)
  if (h.interlace !== 0) unsupported('interlaced (Adam7)')
  return h
}

/** Undoes the per-row filters (§7.3): `raw` is height × (1 filter byte + rowBytes). */
function unfilter(raw: Uint8Array, height: number, rowBytes: number, bpp: number, file: string): Uint8Array {
  if (raw.length < height * (rowBytes + 1)) fail('ImageUnreadable', { path: file, value: file }, file, `its image data holds ${raw.length} bytes, fewer than the ${height * (rowBytes + 1)} its header implies`)
  const out = new Uint8Array(height * rowBytes)
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (rowBytes + 1)]!
    const src = raw.subarray(y * (rowBytes + 1) + 1, (y + 1) * (rowBytes + 1))
    const row = y * rowBytes
    const up = (i: number): number => (y > 0 ? out[row - rowBytes + i]! : 0)
    for (let i = 0; i < rowBytes; i++) {
      const left = i >= bpp ? out[row + i - bpp]! : 0
      const upLeft = i >= bpp ? up(i - bpp) : 0
      const predicted =
        filter === 0 ? 0
        : filter === 1 ? left
        : filter === 2 ? up(i)
        : filter === 3 ? (left + up(i)) >> 1
        : filter === 4 ? paeth(left, up(i), upLeft)
        : fail('ImageUnreadable', { path: file, value: file }, file, `row ${y} has filter type ${filter} (PNG defines 0–4)`)
      out[row + i] = (src[i]! + predicted) & 0xff
    }
  }
  return out
}

/** Sample `i` of a row of `depth`-bit samples (1, 2, 4 pack most significant bits first). */
const sampleAt = (row: Uint8Array, offset: number, i: number, depth: number): number => {
  if (depth === 8) return row[offset + i]!
  const bit = i * depth
  return (row[offset + (bit >> 3)]! >> (8 - depth - (bit & 7))) & ((1 << depth) - 1)
}

/** The pixels as RGBA (alpha 255 where the file has none) and whether any transparency is declared. */
function toRgba(pixels: Uint8Array, h: Header, chunks: PngChunk[], file: string): { rgba: Uint8Array; alpha: boolean } {
  const channels = channelsOf[h.colorType]!
  const rowBytes = Math.ceil((h.width * channels * h.bitDepth) / 8)
  const palette = chunks.find((c) => c.type === 'PLTE')?.data
  const trns = chunks.find((c) => c.type === 'tRNS')?.data
  if (h.colorType === 3 && !palette) fail('ImageUnreadable', { path: file, value: file }, file, 'it is a palette image without a PLTE chunk')
  if (trns && h.colorType === 0 && h.bitDepth < 8) fail('ImageUnsupported', { path: file, value: file }, file, `gray of ${h.bitDepth} bits with a tRNS colour key`)
  // a tRNS colour key (gray, RGB): that exact colour is transparent, as PIL's convert_transparent does
  const key = trns && (h.colorType === 0 || h.colorType === 2) ? Array.from({ length: trns.length / 2 }, (_, i) => (trns[2 * i]! << 8) | trns[2 * i + 1]!) : undefined
  const gray = (v: number): number => (h.bitDepth === 8 ? v : (v * 255) / ((1 << h.bitDepth) - 1))
  const rgba = new Uint8Array(h.width * h.height * 4)
  for (let y = 0; y < h.height; y++) {
    for (let x = 0; x < h.width; x++) {
      const s = (c: number): number => sampleAt(pixels, y * rowBytes, x * channels + c, h.bitDepth)
      const o = (y * h.width + x) * 4
      let px: [number, number, number, number]
      if (h.colorType === 3) {
        const index = s(0)
        if (3 * index + 2 >= palette!.length) fail('ImageUnreadable', { path: file, value: file }, file, `pixel (${x}, ${y}) uses palette entry ${index} of ${palette!.length / 3}`)
        px = [palette![3 * index]!, palette![3 * index + 1]!, palette![3 * index + 2]!, trns?.[index] ?? 255]
      } else if (h.colorType === 0 || h.colorType === 4) {
        const v = gray(s(0))
        px = [v, v, v, h.colorType === 4 ? s(1) : key && s(0) === key[0] ? 0 : 255]
      } else {
        const [r, g, b] = [s(0), s(1), s(2)]
        px = [r, g, b, h.colorType === 6 ? s(3) : key && r === key[0] && g === key[1] && b === key[2] ? 0 : 255]
      }
      rgba.set(px, o)
    }
  }
  return { rgba, alpha: h.colorType === 4 || h.colorType === 6 || trns !== undefined }
}

/** Decodes a PNG file's bytes to RGB; `file` names it in errors (ImageUnreadable TK504, ImageUnsupported TK505). */
export function decodePng(bytes: Uint8Array, file: string): RgbImage {
  const chunks = pngChunks(bytes, file)
  const h = header(chunks[0], file)
  const idat = Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data))
  let raw: Uint8Array
  try {
    raw = inflateSync(idat)
  } catch (e) {
    return fail('ImageUnreadable', { path: file, value: file }, file, `its image data does not inflate (zlib: ${(e as Error).message})`)
  }
  const channels = channelsOf[h.colorType]!
  const rowBytes = Math.ceil((h.width * channels * h.bitDepth) / 8)
  const pixels = unfilter(raw, h.height, rowBytes, Math.max(1, (channels * h.bitDepth) >> 3), file)
  const { rgba, alpha } = toRgba(pixels, h, chunks, file)
  return rgbImage(h.width, h.height, alpha ? compositeOnWhite(rgba) : dropAlpha(rgba))
}

const dropAlpha = (rgba: Uint8Array): Uint8Array => {
  const rgb = new Uint8Array((rgba.length / 4) * 3)
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) rgb.set(rgba.subarray(i, i + 3), j)
  return rgb
}

/**
 * Reads an image file as 8-bit RGB (PNG: gray, gray + alpha, RGB, RGBA, palette; 1–8 bits,
 * non-interlaced). A missing file is ImageMissing's caller's concern: this reads what exists.
 */
export async function readImage(file: string): Promise<RgbImage> {
  return decodePng(await readFile(file), file)
}
