/** 8-bit storage of the per-block absmax scales (QLoRA's double quantisation). */
export interface DoubleQuantScales {
  /** Mean of all scales, subtracted before quantising (scales are positive, so this centres them). */
  offset: number
  /** Scales per block of `blockSize2` first-level scales. */
  blockSize2: number
  /** int8 code per first-level scale: `scale ≈ offset + code / 127 * absmax2[block]`. */
  codes: Int8Array
  /** [ceil(blocks / blockSize2)] */
  absmax2: Float32Array
}

/** A frozen weight `[out, in]` stored packed; dequantised only for the duration of one matmul. */
export interface QuantizedWeight {
  type: 'nf4' | 'int8'
  /** [out, in] */
  shape: [number, number]
  /** Weights per scale: NF4 blocks of `blockSize` along the flattened weight; int8 uses one scale per row. */
  blockSize: number
  /** NF4: two 4-bit codes per byte (first in the high nibble); int8: one signed code per byte. */
  codes: Uint8Array | Int8Array
  /** absmax per block, float32 or double-quantised. */
  scales: Float32Array | DoubleQuantScales
}

/** Bytes a quantised weight holds (codes + scales). */
export function quantizedBytes(q: QuantizedWeight): number {
  const s = q.scales
  const scaleBytes = s instanceof Float32Array ? s.byteLength : s.codes.byteLength + s.absmax2.byteLength + 8
  return q.codes.byteLength + scaleBytes
}
