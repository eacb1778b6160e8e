import { dequantizeScales, quantizeScales } from './nf4.ts'
import type { QuantizedWeight } from './types.ts'

/** Row-wise absmax int8 (LLM.int8's vector-wise scales): `code = round(w / absmax(row) * 127)`. */
export function quantizeInt8(data: Float32Array, shape: [number, number], opts: { doubleQuant?: boolean } = {}): QuantizedWeight {
  const [rows, cols] = shape
  const scales = new Float32Array(rows)
  const codes = new Int8Array(rows * cols)
  for (let r = 0; r < rows; r++) {
    let absmax = 0
    for (let c = 0; c < cols; c++) absmax = Math.max(absmax, Math.abs(data[r * cols + c]!))
    scales[r] = absmax
    for (let c = 0; c < cols; c++) codes[r * cols + c] = absmax === 0 ? 0 : Math.round((data[r * cols + c]! / absmax) * 127)
  }
  return { type: 'int8', shape, blockSize: cols, codes, scales: opts.doubleQuant ? quantizeScales(scales) : scales }
}

export function dequantizeInt8(q: QuantizedWeight): Float32Array {
  const [rows, cols] = q.shape
  const scales = dequantizeScales(q.scales)
  const out = new Float32Array(rows * cols)
  const codes = q.codes as Int8Array
  for (let r = 0; r < rows; r++) {
    const s = scales[r]! / 127
    for (let c = 0; c < cols; c++) out[r * cols + c] = codes[r * cols + c]! * s
  }
  return out
}
