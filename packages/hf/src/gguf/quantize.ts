// ggml's tensor types that tunekit writes, and their encoders, bit-exact with ggml's reference
// quantisers (ggml-quants.c `quantize_row_q8_0_ref` / `quantize_row_q4_0_ref`). A block covers 32
// consecutive values of one row; float32 arithmetic is reproduced with Math.fround step by step.
//
//   Q8_0 (34 bytes / 32 values): f16 d = amax / 127, then 32 int8 q = round(x / d) (half away from 0)
//   Q4_0 (18 bytes / 32 values): f16 d = max / -8 (max: the value of largest magnitude, sign kept),
//        q = min(15, trunc(x / d + 8.5)); byte j holds q[j] in its low nibble and q[j + 16] in its high one
import { f32ToF16 } from '../dtypes.ts'

/** ggml type number, values per block and bytes per block. */
export const ggmlTypes = {
  F32: { id: 0, blockSize: 1, blockBytes: 4 },
  F16: { id: 1, blockSize: 1, blockBytes: 2 },
  Q4_0: { id: 2, blockSize: 32, blockBytes: 18 },
  Q8_0: { id: 8, blockSize: 32, blockBytes: 34 },
} as const
export type GgmlTypeName = keyof typeof ggmlTypes

const QK = 32
const fround = Math.fround

/** One f16 scale into `out` at `at`, little-endian. */
function putHalf(out: Uint8Array, at: number, value: number): void {
  const h = f32ToF16(Float32Array.of(value))[0]!
  out[at] = h & 0xff
  out[at + 1] = h >>> 8
}

/** C's roundf: halves away from zero. */
const roundAway = (x: number): number => Math.sign(x) * Math.floor(Math.abs(x) + 0.5)

/** Q8_0 blocks of `values` (length a multiple of 32). */
export function quantizeQ8_0(values: Float32Array): Uint8Array {
  if (values.length % QK !== 0) throw new RangeError(`Q8_0 needs a multiple of ${QK} values, got ${values.length}`)
  const blocks = values.length / QK
  const out = new Uint8Array(blocks * ggmlTypes.Q8_0.blockBytes)
  for (let b = 0; b < blocks; b++) {
    const x = values.subarray(b * QK, (b + 1) * QK)
    let amax = 0
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(x[j]!))
    const d = fround(amax / 127)
    const id = d !== 0 ? fround(1 / d) : 0
    const at = b * ggmlTypes.Q8_0.blockBytes
    putHalf(out, at, d)
    for (let j = 0; j < QK; j++) out[at + 2 + j] = roundAway(fround(x[j]! * id)) & 0xff // int8, two's complement
  }
  return out
}

/** Q4_0 blocks of `values` (length a multiple of 32). */
export function quantizeQ4_0(values: Float32Array): Uint8Array {
  if (values.length % QK !== 0) throw new RangeError(`Q4_0 needs a multiple of ${QK} values, got ${values.length}`)
  const blocks = values.length / QK
  const out = new Uint8Array(blocks * ggmlTypes.Q4_0.blockBytes)
  for (let b = 0; b < blocks; b++) {
    const x = values.subarray(b * QK, (b + 1) * QK)
    let amax = 0
    let max = 0
    for (let j = 0; j < QK; j++) {
      // strictly greater: the first value of largest magnitude wins a tie, as in ggml
      if (Math.abs(x[j]!) > amax) {
        amax = Math.abs(x[j]!)
        max = x[j]!
      }
    }
    const d = fround(max / -8)
    const id = d !== 0 ? fround(1 / d) : 0
    const at = b * ggmlTypes.Q4_0.blockBytes
    putHalf(out, at, d)
    const q = (v: number): number => Math.min(15, Math.trunc(fround(fround(v * id) + 8.5)))
    for (let j = 0; j < QK / 2; j++) out[at + 2 + j] = q(x[j]!) | (q(x[j + QK / 2]!) << 4)
  }
  return out
}

/** The bytes of float32 `values` stored as `type`. */
export function encodeTensor(values: Float32Array, type: GgmlTypeName): Uint8Array {
  switch (type) {
    case 'F32': return new Uint8Array(values.buffer, values.byteOffset, values.byteLength)
    case 'F16': return new Uint8Array(f32ToF16(values).buffer)
    case 'Q8_0': return quantizeQ8_0(values)
    case 'Q4_0': return quantizeQ4_0(values)
  }
}
