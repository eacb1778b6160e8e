import type { DoubleQuantScales, QuantizedWeight } from './types.ts'

/**
 * The 16 NF4 levels: quantiles of N(0, 1) scaled to [-1, 1], with an exact zero
 * (bitsandbytes' table, QLoRA §3 "4-bit NormalFloat").
 */
export const NF4_LEVELS = new Float32Array([
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
  -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
])

/** Largest distance from any value in [-1, 1] to its nearest NF4 level: half the widest gap. */
export const NF4_MAX_HALF_GAP = (() => {
  let gap = 0
  for (let i = 1; i < 16; i++) gap = Math.max(gap, NF4_LEVELS[i]! - NF4_LEVELS[i - 1]!)
  return gap / 2
})()

// Midpoints between adjacent levels in float32, as bitsandbytes' bounds `(code[:-1] + code[1:]) / 2`: a
// normalised value maps to the level whose interval holds it, a value on a midpoint to the lower level
// (torch.bucketize, right=False).
const MIDPOINTS = Array.from({ length: 15 }, (_, i) => Math.fround((NF4_LEVELS[i]! + NF4_LEVELS[i + 1]!) / 2))

function nearestLevel(x: number): number {
  let code = 0
  while (code < 15 && x > MIDPOINTS[code]!) code++
  return code
}

/** QLoRA's double quantisation: scales minus their mean, as int8 in blocks of `blockSize2` (256). */
export function quantizeScales(scales: Float32Array, blockSize2 = 256): DoubleQuantScales {
  let offset = 0
  for (const s of scales) offset += s
  offset /= Math.max(1, scales.length)
  const blocks = Math.ceil(scales.length / blockSize2)
  const absmax2 = new Float32Array(blocks)
  const codes = new Int8Array(scales.length)
  for (let b = 0; b < blocks; b++) {
    const end = Math.min(scales.length, (b + 1) * blockSize2)
    let max = 0
    for (let i = b * blockSize2; i < end; i++) max = Math.max(max, Math.abs(scales[i]! - offset))
    absmax2[b] = max
    for (let i = b * blockSize2; i < end; i++) codes[i] = max === 0 ? 0 : Math.round(((scales[i]! - offset) / max) * 127)
  }
  return { offset, blockSize2, codes, absmax2 }
}

export function dequantizeScales(s: Float32Array | DoubleQuantScales): Float32Array {
  if (s instanceof Float32Array) return s
  const out = new Float32Array(s.codes.length)
  for (let i = 0; i < out.length; i++) out[i] = s.offset + (s.codes[i]! / 127) * s.absmax2[Math.floor(i / s.blockSize2)]!
  return out
}

/**
 * Quantises a `[out, in]` float32 weight to NF4 in blocks of `blockSize` (64 in QLoRA), in bitsandbytes'
 * float32 arithmetic (its quantize_4bit, backends/default/ops.py): a full block scaled by the
 * reciprocal `x · (1 / absmax)`, the last partial one divided `x / absmax`, clamped to [-1, 1], so the
 * codes and scales are bitsandbytes' bit for bit (test/bnb/loftq.test.ts).
 */
export function quantizeNf4(data: Float32Array, shape: [number, number], opts: { blockSize?: number; doubleQuant?: boolean } = {}): QuantizedWeight {
  const blockSize = opts.blockSize ?? 64
  const n = data.length
  const blocks = Math.ceil(n / blockSize)
  const scales = new Float32Array(blocks)
  const codes = new Uint8Array(Math.ceil(n / 2))
  for (let b = 0; b < blocks; b++) {
    const end = Math.min(n, (b + 1) * blockSize)
    let absmax = 0
    for (let i = b * blockSize; i < end; i++) absmax = Math.max(absmax, Math.abs(data[i]!))
    scales[b] = absmax
    const full = end - b * blockSize === blockSize
    const inv = Math.fround(1 / Math.max(absmax, 1e-38)) // absmax.clamp(min=1e-38): an all-zero block codes 0
    for (let i = b * blockSize; i < end; i++) {
      const scaled = full ? Math.fround(data[i]! * inv) : Math.fround(data[i]! / Math.max(absmax, 1e-38))
      const code = nearestLevel(Math.min(1, Math.max(-1, scaled)))
      codes[i >> 1] = codes[i >> 1]! | (i % 2 === 0 ? code << 4 : code)
    }
  }
  return { type: 'nf4', shape, blockSize, codes, scales: opts.doubleQuant ? quantizeScales(scales) : scales }
}

/** NF4 codes back to float32: `level[code] * absmax[block]`. */
export function dequantizeNf4(q: QuantizedWeight): Float32Array {
  const n = q.shape[0] * q.shape[1]
  const scales = dequantizeScales(q.scales)
  const out = new Float32Array(n)
  const codes = q.codes as Uint8Array
  for (let i = 0; i < n; i++) {
    const byte = codes[i >> 1]!
    const code = i % 2 === 0 ? byte >> 4 : byte & 0x0f
    out[i] = NF4_LEVELS[code]! * scales[Math.floor(i / q.blockSize)]!
  }
  return out
}
