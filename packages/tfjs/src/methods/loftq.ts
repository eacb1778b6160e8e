// LoftQ (Li et al., 2023): LoRA started from the low-rank part of each adapted weight's quantisation
// error, the quantised base replaced by the quantisation of the residual. PEFT's loftq_init
// (peft/utils/loftq_utils.py, lines 53-100), with the tfjs quantisers (../quant: bitsandbytes' NF4 in
// blocks of 64 without double quantisation, Params4bit(compress_statistics=False); int8 per row of
// the float16 weight, Int8Params) and @tunekit/hf's SVD:
//   res = W
//   repeat iters times:
//     Q = dequant(quant(res))               the base the adapter trains against
//     L, R = top-r SVD of W − Q: L = U·√S [out, r], R = √S·Vh [r, in]
//     res = W − L·R                         (not after the last iteration)
//   A = R, B = L, base = Q
// B·A is the quantisation error's best rank-r fit, not divided by the LoRA scale (PEFT assigns it
// as it is), so at step 0 the model is Q + scale·B·A.
import { f16ToF32, f32ToF16, svd, type FloatTensor } from '@tunekit/hf'
import { dequantize, quantize } from '../quant/linear.ts'

export interface LoftqOptions {
  /** 4: NF4; 8: int8 (PEFT's loftq_bits). */
  bits: 4 | 8
  rank: number
  /** Alternating steps (PEFT's loftq_iter). */
  iters: number
}

/** LoftQ's quantiser round trip of `res` [out, in]: what bitsandbytes' dequantize gives back. */
export function loftqRoundTrip(res: Float32Array, shape: [number, number], bits: 4 | 8): Float32Array {
  if (bits === 4) return dequantize(quantize(res, shape, { type: 'nf4', blockSize: 64, doubleQuant: false }))
  // Int8Params quantises the float16 copy of the weight (bitsandbytes/nn/modules.py, _quantize)
  return dequantize(quantize(f16ToF32(f32ToF16(res)), shape, { type: 'int8' }))
}

/** LoftQ's start of one weight W [out, in]: the dequantised base, A [r, in] and B [out, r]. */
export function loftqInit(w: FloatTensor, o: LoftqOptions): { base: FloatTensor; a: FloatTensor; b: FloatTensor } {
  const [out, inF] = w.shape as [number, number]
  const r = o.rank
  if (r > Math.min(out, inF)) throw new Error(`LoftQ rank ${r} exceeds the ${out} × ${inF} weight's rank`)
  let res: Float32Array = Float32Array.from(w.data)
  let base: Float32Array = res
  const a = new Float32Array(r * inF)
  const b = new Float32Array(out * r)
  for (let i = 0; i < o.iters; i++) {
    base = loftqRoundTrip(res, [out, inF], o.bits)
    const error = new Float32Array(out * inF)
    for (let j = 0; j < error.length; j++) error[j] = w.data[j]! - base[j]!
    const f = svd(error, out, inF)
    for (let k = 0; k < r; k++) {
      const root = Math.sqrt(f.s[k]!)
      for (let c = 0; c < inF; c++) a[k * inF + c] = root * f.vt[k * inF + c]!
      for (let row = 0; row < out; row++) b[row * r + k] = f.u[row * f.k + k]! * root
    }
    if (i + 1 === o.iters) break
    res = new Float32Array(out * inF)
    for (let row = 0; row < out; row++) {
      for (let c = 0; c < inF; c++) {
        let lr = 0
        for (let k = 0; k < r; k++) lr += b[row * r + k]! * a[k * inF + c]!
        res[row * inF + c] = w.data[row * inF + c]! - lr
      }
    }
  }
  return { base: { shape: [out, inF], data: base }, a: { shape: [r, inF], data: a }, b: { shape: [out, r], data: b } }
}
