// DoRA (Liu et al., 2024) on one linear module, as PEFT 0.21's DoraLinearVariant computes it
// (peft/tuners/lora/dora.py): with g = m / ‖W + s·B·A‖ (row norms, [out]),
//   y = x Wᵀ + b + (g − 1) · (x' Wᵀ) + g · s · (x' Aᵀ Bᵀ)
// where x' is dropout(x) while training with dropout, else x (then x' Wᵀ is the base product
// itself). The norm is a constant for the backward pass (DoRA §4.3; PEFT detaches it), so only m,
// A and B through the two products get gradients. Merged: W' = g · (W + s·B·A).
import { tf, type Var1D, type Var2D } from '../engine.ts'
import { dequantize } from '../quant/linear.ts'
import { matMulT } from './matmul.ts'
import type { Linear } from './types.ts'

/** The frozen weight transposed, [in, out], float32 (a quantised one dequantised for this call). */
function denseWeightT(lin: Linear): tf.Tensor2D {
  const w = lin.weight
  if (w.kind === 'dense') return w.weightT
  const [out, inF] = w.weight.shape
  return tf.transpose(tf.tensor2d(dequantize(w.weight), [out, inF]))
}

/** ‖W + s·B·A‖ per output row, [out], with no gradient to A or B (a constant of the backward pass). */
export function doraNorm(lin: Linear, a: Var2D, b: Var2D, scale: number): tf.Tensor1D {
  const op = tf.customGrad((aIn, bIn) => {
    const value = tf.tidy(() => {
      const deltaT = tf.matMul(tf.transpose(aIn as tf.Tensor2D), tf.transpose(bIn as tf.Tensor2D)) // (B A)ᵀ: [in, out]
      return tf.sqrt(tf.sum(tf.square(tf.add(denseWeightT(lin), tf.mul(deltaT, scale))), 0)) as tf.Tensor1D
    })
    const gradFunc = (): tf.Tensor[] => [tf.zeros(a.shape), tf.zeros(b.shape)]
    return { value, gradFunc }
  })
  return op(a, b) as tf.Tensor1D
}

/** The DoRA module's output given its base output `base` (x Wᵀ + b), its adapter input `input` (x or dropout(x)) and `plain` (input Wᵀ). */
export function doraOutput(base: tf.Tensor2D, plain: tf.Tensor2D, input: tf.Tensor2D, lin: Linear, pair: { a: Var2D; b: Var2D; magnitude: Var1D }, scale: number): tf.Tensor2D {
  const update = matMulT(matMulT(input, pair.a), pair.b) // [n, out]
  const g = tf.div(pair.magnitude, doraNorm(lin, pair.a, pair.b, scale)) // [out]
  // PEFT's order of operations: result + ((g − 1) · base_result + g · lora_result · scaling)
  return tf.add(base, tf.add(tf.mul(tf.sub(g, 1), plain), tf.mul(tf.mul(g, update), scale))) as tf.Tensor2D
}
