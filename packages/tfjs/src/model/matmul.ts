import { tf } from '../engine.ts'
import { kernelOptions } from './kernel-options.ts'

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

/**
 * `a @ b` without flags. wasm's XNNPACK path takes only unbatched products (its batched kernel is a
 * scalar loop, ~1.3 GFLOP/s), so on wasm a batched product runs as one 2-D product per batch entry:
 * the slices and the stack are copies of the operands and the result, O(m·k + k·n + m·n) per entry
 * against the product's O(m·k·n).
 */
export function product(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const batchShape = a.shape.slice(0, -2)
  const count = batchShape.reduce((n, d) => n * d, 1)
  if (count === 1 || !kernelOptions().splitBatchedMatMul || tf.getBackend() !== 'wasm') return tf.matMul(a, b)
  return tf.tidy(() => {
    const [m, k] = a.shape.slice(-2) as [number, number]
    const n = b.shape[b.rank - 1]!
    const left = tf.unstack(tf.reshape(a, [count, m, k])) as tf.Tensor2D[]
    const right = tf.unstack(tf.reshape(b, [count, k, n])) as tf.Tensor2D[]
    return tf.reshape(tf.stack(left.map((x, i) => tf.matMul(x, right[i]!))), [...batchShape, m, n])
  })
}

/** `a @ b` (rank 2, or rank 4 with equal batch axes), differentiable in both. */
export function matMul<T extends tf.Tensor>(a: T, b: tf.Tensor): T {
  const op = tf.customGrad((x, y, save) => {
    ;(save as tf.GradSaveFunc)([x as tf.Tensor, y as tf.Tensor])
    const value = product(x as tf.Tensor, y as tf.Tensor)
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => [
      tf.tidy(() => product(dy, swapLast(saved[1]!))), // da = dy bᵀ
      tf.tidy(() => product(swapLast(saved[0]!), dy)), // db = aᵀ dy
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
