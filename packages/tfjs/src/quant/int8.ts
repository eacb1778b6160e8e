import { dequantizeScales, quantizeScales } from './nf4.ts'
import type { QuantizedWeight } from './types.ts'

/** Rounds half to even, as torch.round does (Math.round rounds half up). */
function roundHalfEven(x: number): number {
  const r = Math.round(x)
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r
}

/**
 * Row-wise absmax int8 (LLM.int8's vector-wise scales), in bitsandbytes' float32 arithmetic
 * (int8_vectorwise_quant): `code = round(w · (127 / absmax(row)))`, rounding half to even, so the
 * codes are bitsandbytes' bit for bit for the same float32 input.
 */
export function quantizeInt8(data: Float32Array, shape: [number, number], opts: { doubleQuant?: boolean } = {}): QuantizedWeight {
  const [rows, cols] = shape
  const scales = new Float32Array(rows)
  const codes = new Int8Array(rows * cols)
  for (let r = 0; r < rows; r++) {
    let absmax = 0
    for (let c = 0; c < cols; c++) absmax = Math.max(absmax, Math.abs(data[r * cols + c]!))
    scales[r] = absmax
    const k = Math.fround(Math.fround(1 / absmax) * 127) // torch's `127.0 / t` is `t.reciprocal() * 127.0`
    for (let c = 0; c < cols; c++) codes[r * cols + c] = absmax === 0 ? 0 : roundHalfEven(Math.fround(data[r * cols + c]! * k))
  }
  return { type: 'int8', shape, blockSize: cols, codes, scales: opts.doubleQuant ? quantizeScales(scales) : scales }
}

/** bitsandbytes' int8_vectorwise_dequant: `code · absmax(row) · 7.874015718698502e-3` (1/127), in float32. */
const INV_127 = Math.fround(7.874015718698502e-3)

export function dequantizeInt8(q: QuantizedWeight): Float32Array {
  const [rows, cols] = q.shape
  const scales = dequantizeScales(q.scales)
  const out = new Float32Array(rows * cols)
  const codes = q.codes as Int8Array
  for (let r = 0; r < rows; r++) {
    const s = scales[r]!
    for (let c = 0; c < cols; c++) out[r * cols + c] = Math.fround(codes[r * cols + c]! * s) * INV_127
  }
  return out
}
