// A prompt's images for the worker's `complete`: their pixels in one pixels.bin beside request.json
// (little-endian float32 back to back, as the pixel shards hold them) and `pixels` in the request.
import type { GenerateImage } from '@tunekit/core'

/** The request's `pixels` (`{ file, offsets, shapes, gridThw }`, null without images) and the file it names. */
export function pixelRequest(images: readonly GenerateImage[]): { request: Record<string, unknown> | null; files: Record<string, Uint8Array> } {
  if (images.length === 0) return { request: null, files: {} }
  const total = images.reduce((n, im) => n + im.pixels.length, 0)
  const all = new Float32Array(total)
  const offsets: number[] = []
  let at = 0
  for (const im of images) {
    offsets.push(at)
    all.set(im.pixels, at)
    at += im.pixels.length
  }
  const gridThw = images.every((im) => im.gridThw !== undefined) ? images.map((im) => [...im.gridThw!]) : null
  // Float32Array's bytes are the platform's order: little-endian on every platform Node runs on
  return { request: { file: 'pixels.bin', offsets, shapes: images.map((im) => [...im.shape]), gridThw }, files: { 'pixels.bin': new Uint8Array(all.buffer) } }
}
