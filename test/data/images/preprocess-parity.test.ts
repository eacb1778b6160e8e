// Image decoding and preprocessing against the oracle: Pillow 13 decodes each PNG and transformers'
// CLIPImageProcessorPil / Qwen2VLImageProcessorPil preprocess it, in one Python process
// (image-oracle.py). Seeded noise images (the hardest case for resampling's rounding), odd sizes,
// every PNG colour type, up- and downscaling.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { mulberry32 } from '@tunekit/core'
import { decodePng, encodePng, preprocessImage, preprocessorConfigOf, readImage, resizeImage, writePng, type PngPixels, type Resampling } from '@tunekit/data'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { workerPython } from '../../python.ts'
import { tempDir } from '../helpers.ts'

const bytes = (n: number, seed: number): Uint8Array => {
  const next = mulberry32(seed)
  return Uint8Array.from({ length: n }, () => Math.floor(next() * 256))
}

// name → pixels, written by encodePng
const written: Record<string, PngPixels> = {
  'rgb-37x23.png': { width: 37, height: 23, colorType: 2, data: bytes(37 * 23 * 3, 1) },
  'rgba-29x40.png': { width: 29, height: 40, colorType: 6, data: bytes(29 * 40 * 4, 2) },
  'palette-31x27.png': { width: 31, height: 27, colorType: 3, data: bytes(31 * 27, 3).map((v) => v % 20), palette: bytes(60, 4), transparency: bytes(12, 5) },
  'gray-24x35.png': { width: 24, height: 35, colorType: 0, data: bytes(24 * 35, 6) },
  'gray-alpha-33x21.png': { width: 33, height: 21, colorType: 4, data: bytes(33 * 21 * 2, 7) },
  'rgb-key-20x20.png': { width: 20, height: 20, colorType: 2, data: bytes(20 * 20 * 3, 8).map((v, i) => (Math.floor(i / 3) % 7 === 0 ? [10, 20, 30][i % 3]! : v)), transparency: Uint8Array.of(0, 10, 0, 20, 0, 30) },
}
// written by PIL itself: 1-bit gray, a 4-bit palette, PIL's own filter choices
const byPil = [
  { file: 'bits1-26x19.png', mode: '1', width: 26, height: 19, seed: 9 },
  { file: 'p4-30x22.png', mode: 'P4', width: 30, height: 22, seed: 10 },
  { file: 'pil-rgb-39x31.png', mode: 'RGB', width: 39, height: 31, seed: 11 },
]
const files = [...Object.keys(written), ...byPil.map((w) => w.file)]

const processors = [
  // 23 px sides are upscaled to 28, 40 px downscaled
  { name: 'clip 28', type: 'clip', config: { size: { shortest_edge: 28 }, crop_size: { height: 28, width: 28 } } },
  // a crop larger than the resized side pads with zeros; bilinear
  { name: 'clip 20→24 bilinear', type: 'clip', config: { size: { shortest_edge: 20 }, crop_size: { height: 24, width: 24 }, resample: 2 } },
  { name: 'qwen2-vl 14·2', type: 'qwen2_vl', config: { min_pixels: 784, max_pixels: 1568 } },
  { name: 'qwen2-vl 4·2', type: 'qwen2_vl', config: { patch_size: 4, merge_size: 2, temporal_patch_size: 2, min_pixels: 256, max_pixels: 1024 } },
]
const processorOf = (p: (typeof processors)[number]) =>
  preprocessorConfigOf({ image_processor_type: p.type === 'clip' ? 'CLIPImageProcessor' : 'Qwen2VLImageProcessor', ...p.config }, { vision_config: { patch_size: 14 } }, 'model')

const resizes: { file: string; width: number; height: number; resample: Resampling }[] = [
  { file: 'rgb-37x23.png', width: 61, height: 17, resample: 3 },
  { file: 'rgb-37x23.png', width: 37, height: 40, resample: 3 },
  { file: 'rgba-29x40.png', width: 13, height: 9, resample: 1 },
  { file: 'pil-rgb-39x31.png', width: 50, height: 20, resample: 2 },
  { file: 'gray-24x35.png', width: 7, height: 70, resample: 4 },
  { file: 'palette-31x27.png', width: 45, height: 11, resample: 5 },
]

interface Oracle {
  rgb: Record<string, string>
  resized: string[]
  processed: { pixels: string; shape: number[]; grid: number[] | null }[]
}

let dir: string
let done: () => Promise<void>
let oracle: Oracle
const path = (file: string): string => join(dir, file)
const floats = (b64: string): Float32Array => {
  const b = Buffer.from(b64, 'base64')
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))
}

beforeAll(async () => {
  ;({ dir, done } = await tempDir())
  for (const [file, pixels] of Object.entries(written)) await writePng(path(file), pixels)
  const request = {
    write: byPil.map((w) => ({ ...w, file: path(w.file) })),
    files: files.map(path),
    processors,
    resize: resizes.map((r) => ({ ...r, file: path(r.file) })),
  }
  const r = spawnSync(workerPython(), [join(import.meta.dirname, 'image-oracle.py')], { input: JSON.stringify(request), encoding: 'utf8', maxBuffer: 64 << 20 })
  if (r.status !== 0) throw new Error(`image-oracle.py exited with ${r.status}:\n${r.stderr}`)
  oracle = JSON.parse(r.stdout) as Oracle
}, 120_000)
afterAll(() => done?.())

describe('PNG decoding', () => {
  it('gives the RGB bytes Pillow + convert_to_rgb give, for every colour type (alpha and tRNS composited on white)', async () => {
    for (const file of files) {
      const image = await readImage(path(file))
      expect(Buffer.from(image.data).equals(Buffer.from(oracle.rgb[path(file)]!, 'base64')), file).toBe(true)
    }
  })

  it('writePng round-trips RGB exactly (Pillow read the same files)', async () => {
    const image = await readImage(path('rgb-37x23.png'))
    expect([image.width, image.height, image.channels]).toEqual([37, 23, 3])
    expect(Buffer.from(image.data).equals(Buffer.from(written['rgb-37x23.png']!.data))).toBe(true)
  })
})

describe('resampling', () => {
  it("equals Pillow's Image.resize byte for byte (bicubic, bilinear, lanczos, box, hamming; up and down)", async () => {
    for (const [i, r] of resizes.entries()) {
      const out = resizeImage(await readImage(path(r.file)), r.width, r.height, r.resample)
      expect(Buffer.from(out.data).equals(Buffer.from(oracle.resized[i]!, 'base64')), `${r.file} → ${r.width}×${r.height} (${r.resample})`).toBe(true)
    }
  })
})

describe('image processors', () => {
  const figures: string[] = []
  afterAll(() => console.log(`max |tunekit − transformers| per processor and image:\n${figures.join('\n')}`))

  it("match CLIPImageProcessorPil and Qwen2VLImageProcessorPil within 1e-5 (shape, grid, image tokens)", async () => {
    let k = 0
    for (const p of processors) {
      for (const file of files) {
        const want = oracle.processed[k++]!
        const got = preprocessImage(await readImage(path(file)), processorOf(p), file)
        expect(got.shape, `${p.name} ${file}`).toEqual(want.shape)
        expect(got.gridThw ?? null).toEqual(want.grid)
        const ref = floats(want.pixels)
        let max = 0
        for (let i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(ref[i]! - got.pixels[i]!))
        figures.push(`${p.name.padEnd(20)} ${file.padEnd(22)} ${want.shape.join('×').padEnd(10)} ${max.toExponential(1)}`)
        expect(max, `${p.name} ${file}`).toBeLessThanOrEqual(1e-5)
        const tokens = want.grid ? (want.grid[0]! * want.grid[1]! * want.grid[2]!) / 4 : Math.floor(want.shape[1]! / 14) * Math.floor(want.shape[2]! / 14)
        expect(got.imageTokens).toBe(tokens)
      }
    }
  })
})

describe('unreadable images', () => {
  const png = encodePng({ width: 2, height: 2, colorType: 2, data: bytes(12, 12) })
  // IHDR's data is bytes 16–28 (width, height, depth, colour type, compression, filter, interlace), its CRC 29–32
  const withHeader = (depth: number, interlace: number, fixCrc = true): Uint8Array => {
    const b = Buffer.from(png)
    b[24] = depth
    b[28] = interlace
    if (fixCrc) b.writeUInt32BE(crc32(b.subarray(12, 29)), 29)
    return b
  }

  it('names the file and what is wrong (TK504 not a PNG or damaged, TK505 a kind not decoded)', () => {
    expect(() => decodePng(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 0, 0), 'photo.jpg')).toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: An image file cannot be read
      ✖ TK504 the image "photo.jpg" cannot be read: it is a JPEG file, and tunekit decodes PNG only → at photo.jpg
        value: "photo.jpg"
        fix: Give a PNG file (8-bit gray, gray + alpha, RGB, RGBA or palette); convert other images first, e.g. with PIL: Image.open(path).convert("RGB").save("image.png").]
    `)
    expect(() => decodePng(new Uint8Array(0), 'empty.png')).toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: An image file cannot be read
      ✖ TK504 the image "empty.png" cannot be read: it is not a PNG (its first bytes are none: the file is empty) → at empty.png
        value: "empty.png"
        fix: Give a PNG file (8-bit gray, gray + alpha, RGB, RGBA or palette); convert other images first, e.g. with PIL: Image.open(path).convert("RGB").save("image.png").]
    `)
    expect(() => decodePng(png.subarray(0, 40), 'cut.png')).toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: An image file cannot be read
      ✖ TK504 the image "cut.png" cannot be read: it is cut short at byte 40 (no IEND chunk) → at cut.png
        value: "cut.png"
        fix: Give a PNG file (8-bit gray, gray + alpha, RGB, RGBA or palette); convert other images first, e.g. with PIL: Image.open(path).convert("RGB").save("image.png").]
    `)
    expect(() => decodePng(withHeader(8, 0), 'ok.png')).not.toThrow()
    expect(() => decodePng(withHeader(16, 0), 'deep.png')).toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: A PNG of a kind tunekit does not decode
      ✖ TK505 the PNG "deep.png" is RGB of 16 bits per channel, which tunekit's decoder does not read (it reads non-interlaced PNGs of 8 bits per channel, or palette / gray of 1, 2, 4 or 8 bits) → at deep.png
        value: "deep.png"
        fix: Save the image again as a plain 8-bit PNG, e.g. with PIL: Image.open(path).convert("RGB").save(path) (PIL writes non-interlaced PNGs).]
    `)
    expect(() => decodePng(withHeader(8, 1), 'interlaced.png')).toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: A PNG of a kind tunekit does not decode
      ✖ TK505 the PNG "interlaced.png" is interlaced (Adam7), which tunekit's decoder does not read (it reads non-interlaced PNGs of 8 bits per channel, or palette / gray of 1, 2, 4 or 8 bits) → at interlaced.png
        value: "interlaced.png"
        fix: Save the image again as a plain 8-bit PNG, e.g. with PIL: Image.open(path).convert("RGB").save(path) (PIL writes non-interlaced PNGs).]
    `)
    expect(() => decodePng(withHeader(8, 1, false), 'damaged.png')).toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: An image file cannot be read
      ✖ TK504 the image "damaged.png" cannot be read: its IHDR chunk at byte 8 fails its CRC check (the file is damaged) → at damaged.png
        value: "damaged.png"
        fix: Give a PNG file (8-bit gray, gray + alpha, RGB, RGBA or palette); convert other images first, e.g. with PIL: Image.open(path).convert("RGB").save("image.png").]
    `)
  })
})
