import { tf } from '../engine.ts'

/** SwiGLU: `down(silu(gate(x)) * up(x))`; the three projections are passed in (they may carry LoRA). */
export function swiglu(x: tf.Tensor2D, gate: (h: tf.Tensor2D) => tf.Tensor2D, up: (h: tf.Tensor2D) => tf.Tensor2D, down: (h: tf.Tensor2D) => tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const g = gate(x) // [n, intermediate]
    const activated = tf.mul(g, tf.sigmoid(g)) // silu
    return down(tf.mul(activated, up(x)))
  })
}
