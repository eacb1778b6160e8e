// The pixel values beside a token shard set (docs/architecture.md, "Token shards"): `pixels.bin`,
// little-endian float32, every image's pixels back to back in sample order, and the `images` entry
// of index.json that finds each sample's images in it.
import { open, readFile, rename, rm, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { tempName } from '@tunekit/core'
import { isLittleEndian } from '../util/endian.ts'

/** `index.json`'s `images`: per sample, how many images and the first one's number; per image, where and what shape. */
export interface ImagesIndex {
  counts: number[]
  first: number[]
  /** Float offset of each image in pixels.bin. */
  offsets: number[]
  /** CLIP: [3, H, W]; Qwen2-VL: [patches, C·T·P·P]. */
  shapes: number[][]
  /** Qwen2-VL's image_grid_thw rows; null for processors without a grid (CLIP). */
  gridThw: number[][] | null
}

/** One image as the shards hold it. */
export interface ShardImage {
  pixels: Float32Array
  shape: number[]
  gridThw?: [number, number, number] | number[]
}

/** Appends each sample's images to `dir/pixels.bin` (temp name until close); nothing is written for a set without images. */
export function pixelWriter(dir: string) {
  const path = join(dir, 'pixels.bin')
  const tmp = tempName(path)
  let file: FileHandle | undefined
  const index: ImagesIndex = { counts: [], first: [], offsets: [], shapes: [], gridThw: [] }
  let floats = 0
  let grids = true
  return {
    async add(images: readonly ShardImage[] = []): Promise<void> {
      index.counts.push(images.length)
      index.first.push(index.offsets.length)
      for (const im of images) {
        file ??= await open(tmp, 'w')
        index.offsets.push(floats)
        index.shapes.push([...im.shape])
        if (im.gridThw) index.gridThw!.push([...im.gridThw])
        else grids = false
        const bytes = new Uint8Array(im.pixels.buffer, im.pixels.byteOffset, im.pixels.byteLength)
        if (!isLittleEndian) {
          const le = new DataView(new ArrayBuffer(bytes.byteLength))
          im.pixels.forEach((v, i) => le.setFloat32(i * 4, v, true))
          await file.write(new Uint8Array(le.buffer))
        } else await file.write(bytes)
        floats += im.pixels.length
      }
    },
    /** Moves pixels.bin into place; the index entry, or undefined when no sample had an image. */
    async close(): Promise<ImagesIndex | undefined> {
      if (!file) return undefined
      await file.close()
      await rename(tmp, path)
      return { ...index, gridThw: grids ? index.gridThw : null }
    },
    async abort(): Promise<void> {
      await file?.close().catch(() => undefined)
      await rm(tmp, { force: true })
    },
  }
}

/** All of a shard set's pixels (little-endian whatever the host order). */
export async function readPixels(dir: string): Promise<Float32Array> {
  const raw = await readFile(join(dir, 'pixels.bin'))
  const out = new Float32Array(raw.byteLength / 4)
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true)
  return out
}

/** Sample `i`'s images: views into `pixels`. */
export function imagesOf(index: ImagesIndex, pixels: Float32Array, i: number): ShardImage[] {
  return Array.from({ length: index.counts[i]! }, (_, k) => {
    const n = index.first[i]! + k
    const shape = index.shapes[n]!
    const size = shape.reduce((a, b) => a * b, 1)
    const image: ShardImage = { pixels: pixels.subarray(index.offsets[n]!, index.offsets[n]! + size), shape }
    if (index.gridThw) image.gridThw = index.gridThw[n]!
    return image
  })
}
