import { tf } from '../engine.ts'

// The small networks of P-tuning's PromptEncoder and prefix tuning's PrefixEncoder (PEFT), over the
// n virtual tokens as one sequence [n, features]: PEFT runs them on a batch of identical rows, so
// one row is computed and every batch row uses it. Weights as torch stores them: Linear [out, in].

/** `torch.nn.Linear`: x [n, in] · Wᵀ [in, out] + b → [n, out]. */
export function linearLayer(x: tf.Tensor2D, weight: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => tf.add(tf.matMul(x, weight, false, true), bias) as tf.Tensor2D)
}

/** One LSTM direction over x [n, in]: torch's gates (i, f, g, o) = W_ih x_t + b_ih + W_hh h + b_hh; returns h [n, hidden]. */
function lstmDirection(x: tf.Tensor2D, w: LstmWeights, reverse: boolean): tf.Tensor2D {
  return tf.tidy(() => {
    const n = x.shape[0]
    const e = w.hh.shape[1]
    const inputs = linearLayer(x, w.ih, tf.add(w.bih, w.bhh) as tf.Tensor1D) // [n, 4e]: every step's input part at once
    let h = tf.zeros([1, e]) as tf.Tensor2D
    let c = tf.zeros([1, e]) as tf.Tensor2D
    const out: tf.Tensor2D[] = new Array<tf.Tensor2D>(n)
    for (let s = 0; s < n; s++) {
      const t = reverse ? n - 1 - s : s
      const gates = tf.add(tf.slice(inputs, [t, 0], [1, 4 * e]), tf.matMul(h, w.hh, false, true)) as tf.Tensor2D
      const [i, f, g, o] = tf.split(gates, 4, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D]
      c = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g))) as tf.Tensor2D // c_t = f ⊙ c + i ⊙ g
      h = tf.mul(tf.sigmoid(o), tf.tanh(c)) as tf.Tensor2D // h_t = o ⊙ tanh(c_t)
      out[t] = h
    }
    return tf.concat(out, 0) as tf.Tensor2D
  })
}

/** One direction's tensors of one layer (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`). */
export interface LstmWeights {
  ih: tf.Tensor2D // [4e, in]
  hh: tf.Tensor2D // [4e, e]
  bih: tf.Tensor1D // [4e]
  bhh: tf.Tensor1D // [4e]
}

/**
 * `torch.nn.LSTM(bidirectional=True, batch_first=True)` over x [n, in]: each layer's output is
 * [forward h; backward h] [n, 2e], the next layer's input, with `dropout` between layers while training.
 */
export function bidirectionalLstm(x: tf.Tensor2D, layers: ReadonlyArray<{ forward: LstmWeights; backward: LstmWeights }>, dropout: number, training: boolean, seed: number): tf.Tensor2D {
  return tf.tidy(() => {
    let h = x
    layers.forEach((layer, i) => {
      if (i > 0 && training && dropout > 0) h = tf.dropout(h, dropout, undefined, seed + i) as tf.Tensor2D
      h = tf.concat([lstmDirection(h, layer.forward, false), lstmDirection(h, layer.backward, true)], 1) as tf.Tensor2D
    })
    return h
  })
}
