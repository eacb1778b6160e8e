import { tf } from '../engine.ts'

/**
 * The gated MLP `down(act(gate(x)) * up(x))`: SwiGLU (`act` silu) or, with `geluTanh`, Gemma's GeGLU
 * (transformers' `gelu_pytorch_tanh`); the projections are passed in (they may carry LoRA):
 * `gateUp` gives gate(x) and up(x), from two modules or phi-3's one `gate_up_proj`.
 */
export function swiglu(x: tf.Tensor2D, gateUp: (h: tf.Tensor2D) => readonly [tf.Tensor2D, tf.Tensor2D], down: (h: tf.Tensor2D) => tf.Tensor2D, geluTanh = false): tf.Tensor2D {
  return tf.tidy(() => {
    const [g, u] = gateUp(x) // [n, intermediate] each
    const activated = geluTanh ? geluTanhApprox(g) : tf.mul(g, tf.sigmoid(g)) // silu
    return down(tf.mul(activated, u))
  })
}

/** `½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))`, the tanh approximation of GELU. */
function geluTanhApprox(x: tf.Tensor2D): tf.Tensor2D {
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI))
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner)))
}
