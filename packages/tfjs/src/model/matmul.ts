import { tf } from '../engine.ts'

// The wasm engine's BatchMatMul is fast (XNNPACK) only without transpose flags; with either flag it
// runs a naive loop 5-50x slower, and tf.matMul's own gradient uses those flags. These wrappers
// transpose explicitly (a cheap copy) and keep every product flag-free, forward and backward.

/** Swaps the last two axes. */
export function swapLast(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i)
  const n = perm.length
  ;[perm[n - 2], perm[n - 1]] = [perm[n - 1]!, perm[n - 2]!]
  return tf.transpose(x, perm)
}

/** `a @ b` (rank 2, or rank 4 with equal batch axes), differentiable in both. */
export function matMul<T extends tf.Tensor>(a: T, b: tf.Tensor): T {
  const op = tf.customGrad((x, y, save) => {
    ;(save as tf.GradSaveFunc)([x as tf.Tensor, y as tf.Tensor])
    const value = tf.matMul(x as tf.Tensor, y as tf.Tensor)
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => [
      tf.tidy(() => tf.matMul(dy, swapLast(saved[1]!))), // da = dy bᵀ
      tf.tidy(() => tf.matMul(swapLast(saved[0]!), dy)), // db = aᵀ dy
    ]
    return { value, gradFunc }
  })
  return op(a, b) as T
}

/**
 * `x @ w` for a frozen w [in, out]: only x gets a gradient (`dx = dy wᵀ`). `wT` [out, in], when the
 * caller holds it anyway (lm_head: the embedding layout), saves transposing w in every backward pass.
 */
export function matMulFrozen(x: tf.Tensor2D, w: tf.Tensor2D, wT?: tf.Tensor2D): tf.Tensor2D {
  const op = tf.customGrad((input) => {
    const value = tf.matMul(input as tf.Tensor2D, w)
    const gradFunc = (dy: tf.Tensor): tf.Tensor => tf.tidy(() => tf.matMul(dy as tf.Tensor2D, wT ?? (swapLast(w) as tf.Tensor2D)))
    return { value, gradFunc }
  })
  return op(x) as tf.Tensor2D
}

/**
 * `a @ wᵀ` for a trainable w [out, in] (PEFT / transformers layout), differentiable in both with
 * one explicit transpose each way: forward transposes w; backward `da = dy w` needs none, and
 * `dw = dyᵀ a` transposes whichever of dy or the product is smaller.
 */
export function matMulT(a: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const op = tf.customGrad((x, y, save) => {
    ;(save as tf.GradSaveFunc)([x as tf.Tensor, y as tf.Tensor])
    const value = tf.tidy(() => tf.matMul(x as tf.Tensor2D, tf.transpose(y as tf.Tensor2D)))
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [input, weight] = saved as [tf.Tensor2D, tf.Tensor2D]
      const g = dy as tf.Tensor2D // [n, out]
      const [n] = input.shape
      const [, inF] = weight.shape
      return [
        tf.matMul(g, weight), // da = dy w: [n, in]
        tf.tidy(() => (n <= inF ? tf.matMul(tf.transpose(g), input) : tf.transpose(tf.matMul(tf.transpose(input), g)))), // dw = dyᵀ a: [out, in]
      ]
    }
    return { value, gradFunc }
  })
  return op(a, w) as tf.Tensor2D
}
