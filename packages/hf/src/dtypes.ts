// Safetensors element types and the float16 / bfloat16 <-> float32 conversions (plain typed
// arrays, no tensor library). Byte order is little-endian, as the safetensors format fixes.

/** Element types tunekit reads from safetensors files (names as in the format's header). */
export const dtypeBytes = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
} as const
export type Dtype = keyof typeof dtypeBytes
/** Float element types, all read into Float32Array (F64 into Float64Array). */
export type FloatDtype = 'F32' | 'F16' | 'BF16'

/** True for the element types a weight may have: they are read as floats (F64 included). */
export function isFloatDtype(dtype: Dtype): boolean {
  return dtype === 'F32' || dtype === 'F16' || dtype === 'BF16' || dtype === 'F64'
}

export function isDtype(value: unknown): value is Dtype {
  return typeof value === 'string' && Object.hasOwn(dtypeBytes, value)
}

/** The typed array a tensor of each element type is read into. */
export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array

// A scratch word to reinterpret float32 bits without allocating.
const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

/** bfloat16 bits → float32 values: bf16 is the top half of a float32. */
export function bf16ToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length)
  const outBits = new Uint32Array(out.buffer)
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i]! << 16
  return out
}

/** float32 → bfloat16 bits, round to nearest even (as torch does); NaN stays NaN. */
export function f32ToBf16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length)
  const inBits = new Uint32Array(values.buffer, values.byteOffset, values.length)
  for (let i = 0; i < values.length; i++) {
    const x = inBits[i]!
    if ((x & 0x7fffffff) > 0x7f800000) out[i] = ((x >>> 16) | 0x40) & 0xffff // quiet NaN
    else out[i] = ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff
  }
  return out
}

/** IEEE half bits → float32 values (subnormals, infinities and NaN included). */
export function f16ToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length)
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i]!
    const sign = h & 0x8000 ? -1 : 1
    const exp = (h >>> 10) & 0x1f
    const frac = h & 0x3ff
    if (exp === 0) out[i] = sign * frac * 2 ** -24 // subnormal: frac · 2^-14 / 2^10
    else if (exp === 31) out[i] = frac ? NaN : sign * Infinity
    else out[i] = sign * (1 + frac / 1024) * 2 ** (exp - 15)
  }
  return out
}

/** float32 → IEEE half bits, round to nearest even; overflow gives ±Infinity. */
export function f32ToF16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length)
  for (let i = 0; i < values.length; i++) {
    f32[0] = values[i]!
    const x = u32[0]!
    const sign = (x >>> 16) & 0x8000
    const exp = (x >>> 23) & 0xff
    let mant = x & 0x7fffff
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0)
      continue
    }
    const e = exp - 127 + 15 // rebiased exponent
    if (e >= 31) {
      out[i] = sign | 0x7c00
      continue
    }
    if (e <= 0) {
      // Subnormal half (or zero): shift the mantissa with its implicit 1 into place, rounding.
      if (e < -10) {
        out[i] = sign
        continue
      }
      mant |= 0x800000
      const shift = 14 - e
      const half = 1 << (shift - 1)
      const rest = mant & ((1 << shift) - 1)
      let h = mant >>> shift
      if (rest > half || (rest === half && h & 1)) h++
      out[i] = sign | h
      continue
    }
    let h = (e << 10) | (mant >>> 13)
    const rest = mant & 0x1fff
    if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++ // may carry into the exponent: correct
    out[i] = sign | h
  }
  return out
}

/** Decodes little-endian bytes of one tensor into its typed array (floats widen to float32). */
export function decode(dtype: Dtype, bytes: Uint8Array): TensorData {
  // `bytes` owns a fresh, aligned buffer (see the readers), so views need no copy.
  const buf = bytes.buffer
  const off = bytes.byteOffset
  const n = bytes.byteLength / dtypeBytes[dtype]
  switch (dtype) {
    case 'F32': return new Float32Array(buf, off, n)
    case 'F64': return new Float64Array(buf, off, n)
    case 'F16': return f16ToF32(new Uint16Array(buf, off, n))
    case 'BF16': return bf16ToF32(new Uint16Array(buf, off, n))
    case 'I64': return new BigInt64Array(buf, off, n)
    case 'I32': return new Int32Array(buf, off, n)
    case 'I16': return new Int16Array(buf, off, n)
    case 'I8': return new Int8Array(buf, off, n)
    case 'U8':
    case 'BOOL': return new Uint8Array(buf, off, n)
  }
}

/** The element type a typed array is stored as, when none is asked for. */
export function nativeDtype(data: TensorData): Dtype {
  if (data instanceof Float32Array) return 'F32'
  if (data instanceof Float64Array) return 'F64'
  if (data instanceof BigInt64Array) return 'I64'
  if (data instanceof Int32Array) return 'I32'
  if (data instanceof Int16Array) return 'I16'
  if (data instanceof Int8Array) return 'I8'
  return 'U8'
}

/** Encodes a tensor's values as `dtype` bytes (float32 data may be stored as F16 or BF16). */
export function encode(data: TensorData, dtype: Dtype): Uint8Array {
  if (data instanceof Float32Array && dtype === 'BF16') return new Uint8Array(f32ToBf16(data).buffer)
  if (data instanceof Float32Array && dtype === 'F16') return new Uint8Array(f32ToF16(data).buffer)
  if (nativeDtype(data) !== dtype && !(dtype === 'BOOL' && data instanceof Uint8Array)) {
    throw new TypeError(`cannot store a ${data.constructor.name} as ${dtype}`)
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
}
