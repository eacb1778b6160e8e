// transformers' PIL image processors in TypeScript: CLIPImageProcessorPil (LLaVA) and
// Qwen2VLImageProcessorPil, step for step (PilBackend.resize → PIL, center_crop, rescale in float64
// then float32, normalise in float32), so pixel values match theirs within float32 rounding.
import { fail } from '@tunekit/core'
import { rgbImage, type RgbImage } from './image.ts'
import type { ClipProcessor, PreprocessorConfig, Qwen2VlProcessor } from './preprocessor-config.ts'
import { pythonRound } from './python-round.ts'
import { resizeImage } from './resample.ts'

/** One image ready for the vision tower. */
export interface PreprocessedImage {
  /** CLIP: [3, H, W] channel-first; Qwen2-VL: [patches, C·T·P·P], its rows of `pixel_values`. */
  pixels: Float32Array
  shape: number[]
  /** Qwen2-VL's `image_grid_thw` row: [1, H / patch, W / patch]. */
  gridThw?: [number, number, number]
  /** How many image tokens the `<image>` placeholder expands to for this image. */
  imageTokens: number
}

/** rescale (float64 multiply, then float32) and normalise ((x − mean) / std in float32), channel-first. */
function toFloat(image: RgbImage, p: PreprocessorConfig): Float32Array {
  const { width, height, data } = image
  const out = new Float32Array(3 * width * height)
  const mean = p.imageMean.map(Math.fround)
  const std = p.imageStd.map(Math.fround)
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < width * height; i++) {
      let v = p.doRescale ? Math.fround(data[i * 3 + c]! * p.rescaleFactor) : data[i * 3 + c]!
      if (p.doNormalize) v = Math.fround(Math.fround(v - mean[c]!) / std[c]!)
      out[c * width * height + i] = v
    }
  }
  return out
}

// ── CLIP ────────────────────────────────────────────────────────────────────────────────────
/** get_resize_output_image_size(default_to_square=False) / get_size_with_aspect_ratio: [height, width]. */
function clipSize(h: number, w: number, size: ClipProcessor['size']): [number, number] {
  if ('height' in size) return [size.height, size.width]
  if (size.longestEdge === undefined) {
    const [short, long] = w <= h ? [w, h] : [h, w]
    const newLong = Math.trunc((size.shortestEdge * long) / short)
    return w <= h ? [newLong, size.shortestEdge] : [size.shortestEdge, newLong]
  }
  let target = size.shortestEdge
  let raw: number | undefined
  const [lo, hi] = [Math.min(h, w), Math.max(h, w)]
  if ((hi / lo) * target > size.longestEdge) {
    raw = (size.longestEdge * lo) / hi
    target = pythonRound(raw)
  }
  if ((h <= w && h === target) || (w <= h && w === target)) return [h, w]
  if (w < h) return [Math.trunc(((raw ?? target) * h) / w), target]
  return [target, Math.trunc(((raw ?? target) * w) / h)]
}

/** transformers' center_crop on uint8 pixels: a crop larger than the image pads it with zeros, centred. */
function centerCrop(image: RgbImage, cropH: number, cropW: number): RgbImage {
  const { width, height } = image
  const [padH, padW] = [Math.max(cropH, height), Math.max(cropW, width)]
  const [padTop, padLeft] = [Math.ceil((padH - height) / 2), Math.ceil((padW - width) / 2)]
  // offsets of the crop inside the padded image: (orig − crop) // 2 + pad
  const top = Math.floor((height - cropH) / 2) + padTop
  const left = Math.floor((width - cropW) / 2) + padLeft
  const out = rgbImage(cropW, cropH)
  for (let y = 0; y < cropH; y++) {
    for (let x = 0; x < cropW; x++) {
      const [sy, sx] = [top + y - padTop, left + x - padLeft]
      if (sy >= 0 && sy < height && sx >= 0 && sx < width) out.data.set(image.data.subarray((sy * width + sx) * 3, (sy * width + sx) * 3 + 3), (y * cropW + x) * 3)
    }
  }
  return out
}

function preprocessClip(image: RgbImage, p: ClipProcessor): PreprocessedImage {
  let im = image
  if (p.doResize) {
    const [h, w] = clipSize(im.height, im.width, p.size)
    im = resizeImage(im, w, h, p.resample)
  }
  if (p.doCenterCrop) im = centerCrop(im, p.cropSize.height, p.cropSize.width)
  const tokens = Math.floor(im.height / p.patchSize) * Math.floor(im.width / p.patchSize) + (p.selectStrategy === 'full' ? 1 : 0)
  return { pixels: toFloat(im, p), shape: [3, im.height, im.width], imageTokens: tokens }
}

// ── Qwen2-VL ────────────────────────────────────────────────────────────────────────────────
/** smart_resize: both sides multiples of `factor`, the area within [minPixels, maxPixels], the aspect kept. */
export function smartResize(height: number, width: number, factor: number, minPixels: number, maxPixels: number, file: string): [number, number] {
  if (Math.max(height, width) / Math.min(height, width) > 200) fail('ImageUnreadable', { path: file, value: file }, file, `its aspect ratio ${Math.max(height, width) / Math.min(height, width)} is over 200, the most Qwen2-VL's smart_resize takes`)
  let h = pythonRound(height / factor) * factor
  let w = pythonRound(width / factor) * factor
  if (h * w > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels)
    h = Math.max(factor, Math.floor(height / beta / factor) * factor)
    w = Math.max(factor, Math.floor(width / beta / factor) * factor)
  } else if (h * w < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width))
    h = Math.ceil((height * beta) / factor) * factor
    w = Math.ceil((width * beta) / factor) * factor
  }
  return [h, w]
}

/**
 * patchify: [C, H, W] → rows of (C, T, P, P) in the order (H/P/m, W/P/m, m, m): each merge window's
 * m² patches consecutive, the single frame repeated T times (temporal_patch_size).
 */
function patchRows(chw: Float32Array, height: number, width: number, p: Qwen2VlProcessor): Float32Array {
  const [P, m, T] = [p.patchSize, p.mergeSize, p.temporalPatchSize]
  const [gh, gw] = [height / P, width / P]
  const rowLength = 3 * T * P * P
  const out = new Float32Array(gh * gw * rowLength)
  let row = 0
  for (let bh = 0; bh < gh / m; bh++)
    for (let bw = 0; bw < gw / m; bw++)
      for (let mh = 0; mh < m; mh++)
        for (let mw = 0; mw < m; mw++, row++)
          for (let c = 0; c < 3; c++)
            for (let t = 0; t < T; t++)
              for (let py = 0; py < P; py++) {
                const y = (bh * m + mh) * P + py
                const x0 = (bw * m + mw) * P
                const src = c * height * width + y * width + x0
                out.set(chw.subarray(src, src + P), row * rowLength + ((c * T + t) * P + py) * P)
              }
  return out
}

function preprocessQwen2Vl(image: RgbImage, p: Qwen2VlProcessor, file: string): PreprocessedImage {
  let im = image
  if (p.doResize) {
    const [h, w] = smartResize(im.height, im.width, p.patchSize * p.mergeSize, p.minPixels, p.maxPixels, file)
    im = resizeImage(im, w, h, p.resample)
  }
  const [gh, gw] = [Math.floor(im.height / p.patchSize), Math.floor(im.width / p.patchSize)]
  if (gh * p.patchSize !== im.height || gw * p.patchSize !== im.width || gh % p.mergeSize !== 0 || gw % p.mergeSize !== 0)
    fail('ImageModelUnsupported', { path: file, value: file }, file, `an image of ${im.width}×${im.height} does not split into merge windows of ${p.mergeSize}×${p.mergeSize} patches of ${p.patchSize} px (do_resize is false)`)
  const pixels = patchRows(toFloat(im, p), im.height, im.width, p)
  return { pixels, shape: [gh * gw, 3 * p.temporalPatchSize * p.patchSize ** 2], gridThw: [1, gh, gw], imageTokens: (gh * gw) / p.mergeSize ** 2 }
}

/**
 * An RGB image through the model's image processor, as transformers' PIL processor computes it.
 * `file` names the image in errors.
 */
export function preprocessImage(image: RgbImage, processor: PreprocessorConfig, file = '<image>'): PreprocessedImage {
  return processor.kind === 'clip' ? preprocessClip(image, processor) : preprocessQwen2Vl(image, processor, file)
}
