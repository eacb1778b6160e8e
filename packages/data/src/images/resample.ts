// Pillow's resampling of 8-bit images (libImaging/Resample.c), ported so that the uint8 output is
// identical: per output pixel, filter weights over the input's support, normalised to sum 1, then
// turned into fixed-point integers with PRECISION_BITS = 22 fraction bits; each pass accumulates
// from 1 << 21 (rounding), shifts right by 22 and clips to 0–255. A pass is skipped when its
// dimension keeps its size. The order of the two passes matters (the first one's output is rounded
// to bytes): Pillow ≤ 12's ImagingResampleInner always went horizontal first; Pillow 13 goes
// vertical first when the height shrinks and 2·W′ − H′ > 2·W − H (W′, H′ the new size; always when
// the width grows and the height shrinks, never when the height grows). Pillow 13's source was not at
// hand: that rule was measured against it (1 200 random shapes, all five filters, no exception).
import { rgbImage, type RgbImage } from './image.ts'

/** PIL's `Image.Resampling` numbers (preprocessor_config.json's `resample`) that this port implements. */
export const resamplingFilters = { 1: 'lanczos', 2: 'bilinear', 3: 'bicubic', 4: 'box', 5: 'hamming' } as const
export type Resampling = keyof typeof resamplingFilters

interface Filter {
  weight: (x: number) => number
  /** Half-width of the kernel in input pixels at scale 1. */
  support: number
}

const sinc = (x: number): number => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x))

const filters: Record<Resampling, Filter> = {
  4: { support: 0.5, weight: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  2: { support: 1, weight: (x) => Math.max(0, 1 - Math.abs(x)) },
  // Resample.c writes 0.54f and 0.46f: float constants
  5: {
    support: 1,
    weight: (x) => {
      const t = Math.abs(x)
      if (t === 0) return 1
      if (t >= 1) return 0
      return (Math.sin(t * Math.PI) / (t * Math.PI)) * (Math.fround(0.54) + Math.fround(0.46) * Math.cos(t * Math.PI))
    },
  },
  // Keys' cubic convolution with a = −0.5
  3: {
    support: 2,
    weight: (x) => {
      const a = -0.5
      const t = Math.abs(x)
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a
      return 0
    },
  },
  1: { support: 3, weight: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
}

const precisionBits = 32 - 8 - 2

interface Coefficients {
  /** Weights per output pixel (`ksize` each, zero-padded), fixed point with 22 fraction bits. */
  weights: Int32Array
  /** Per output pixel: first input index and how many inputs it reads. */
  first: Int32Array
  count: Int32Array
  ksize: number
}

/** precompute_coeffs + normalize_coeffs_8bpc for the box (0, inSize) resized to outSize. */
function coefficients(inSize: number, outSize: number, filter: Filter): Coefficients {
  const scale = inSize / outSize
  const filterScale = Math.max(scale, 1)
  const support = filter.support * filterScale
  const ksize = Math.ceil(support) * 2 + 1
  const weights = new Int32Array(outSize * ksize)
  const first = new Int32Array(outSize)
  const count = new Int32Array(outSize)
  const k = new Float64Array(ksize)
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale
    // (int) casts truncate toward zero
    const xmin = Math.max(0, Math.trunc(center - support + 0.5))
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin
    // ss = 1 / filterscale multiplies (not divides), as in C: the last bit of each weight depends on it
    const ss = 1 / filterScale
    let sum = 0
    for (let x = 0; x < xmax; x++) {
      k[x] = filter.weight((x + xmin - center + 0.5) * ss)
      sum += k[x]!
    }
    for (let x = 0; x < xmax; x++) {
      const w = sum !== 0 ? k[x]! / sum : k[x]!
      weights[xx * ksize + x] = Math.trunc(w < 0 ? -0.5 + w * 2 ** precisionBits : 0.5 + w * 2 ** precisionBits)
    }
    first[xx] = xmin
    count[xx] = xmax
  }
  return { weights, first, count, ksize }
}

/** clip8: the accumulator's integer part (arithmetic shift by 22, i.e. floor) clamped to a byte. */
const clip8 = (acc: number): number => Math.min(255, Math.max(0, Math.floor(acc / 2 ** precisionBits)))

/** One pass along x (`stride` 3: the neighbour of a pixel's channel is 3 bytes on) or y (`stride` 3·width). */
function pass(src: RgbImage, outWidth: number, outHeight: number, c: Coefficients, horizontal: boolean): RgbImage {
  const out = rgbImage(outWidth, outHeight)
  const stride = horizontal ? 3 : 3 * src.width
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      const o = horizontal ? x : y
      const base = horizontal ? (y * src.width + c.first[o]!) * 3 : (c.first[o]! * src.width + x) * 3
      for (let ch = 0; ch < 3; ch++) {
        let acc = 1 << (precisionBits - 1)
        for (let i = 0; i < c.count[o]!; i++) acc += src.data[base + i * stride + ch]! * c.weights[o * c.ksize + i]!
        out.data[(y * outWidth + x) * 3 + ch] = clip8(acc)
      }
    }
  }
  return out
}

/** `Image.resize((width, height), resample)` of an RGB image, byte for byte as Pillow computes it. */
export function resizeImage(image: RgbImage, width: number, height: number, resample: Resampling): RgbImage {
  if (image.width === width && image.height === height) return rgbImage(width, height, image.data.slice())
  const filter = filters[resample]
  const horizontal = (im: RgbImage): RgbImage => (width === image.width ? im : pass(im, width, im.height, coefficients(image.width, width, filter), true))
  const vertical = (im: RgbImage): RgbImage => (height === image.height ? im : pass(im, im.width, height, coefficients(image.height, height, filter), false))
  const verticalFirst = height < image.height && 2 * width - height > 2 * image.width - image.height
  return verticalFirst ? horizontal(vertical(image)) : vertical(horizontal(image))
}
