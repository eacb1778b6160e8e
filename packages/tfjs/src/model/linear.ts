import { tf, type Var1D, type Var2D } from '../engine.ts'
import type { Linear } from './types.ts'
import { doraOutput } from './dora.ts'
import { matMulFrozen, matMulT } from './matmul.ts'
import { quantizedMatmul } from '../quant/linear.ts'

/** The trainable pair of one adapted linear module. */
export interface LoraPair {
  a: Var2D // [rank, in]
  b: Var2D // [out, rank]
  /** DoRA's magnitude vector m [out] (`lora.useDora`); absent for plain LoRA. */
  magnitude?: Var1D
  /** Stable index of the module, to derive its dropout seed. */
  index: number
}

/** Per-call switches: dropout is active only when training, seeded so a resumed run draws the same masks. */
export interface ForwardOptions {
  training?: boolean
  /** Dropout seed of this micro-batch. */
  seed?: number
  /** Collects each MoE layer's router probabilities and top-k choices, for the load-balancing loss (moe.ts). */
  router?: RouterRecord[]
}

/** One MoE layer's routing of a forward pass: softmax of the router logits [n, experts] (kept) and the top-k mask (1 where chosen). */
export interface RouterRecord {
  probs: tf.Tensor2D
  chosen: Float32Array
}

/** The frozen product `x Wᵀ`, no bias. x: [n, in] → [n, out]. */
function frozenProduct(x: tf.Tensor2D, lin: Linear): tf.Tensor2D {
  const w = lin.weight
  return w.kind === 'dense' ? matMulFrozen(x, w.weightT) : quantizedMatmul(x, w.weight)
}

/** Frozen part: `x Wᵀ (+ b)`. x: [n, in] → [n, out]. */
export function baseLinear(x: tf.Tensor2D, lin: Linear): tf.Tensor2D {
  const y = frozenProduct(x, lin)
  return lin.bias ? (tf.add(y, lin.bias) as tf.Tensor2D) : y
}

/** A trained weight w [out, in] (full / freeze): `y = x wᵀ (+ b)`, differentiable in x, w and b. */
export function trainedLinear(x: tf.Tensor2D, w: tf.Variable<tf.Rank.R2>, bias: tf.Tensor1D | undefined): tf.Tensor2D {
  return tf.tidy(() => {
    const y = matMulT(x, w)
    return bias ? (tf.add(y, bias) as tf.Tensor2D) : y
  })
}

/** `y = x Wᵀ + b + scale · dropout(x) Aᵀ Bᵀ` (PEFT's lora.Linear forward); with a magnitude vector, DoRA's (dora.ts). */
export function loraLinear(x: tf.Tensor2D, lin: Linear, pair: LoraPair | undefined, scale: number, dropout: number, opts: ForwardOptions): tf.Tensor2D {
  return tf.tidy(() => {
    const base = baseLinear(x, lin)
    if (!pair) return base
    const dropped = opts.training === true && dropout > 0
    const input = dropped ? (tf.dropout(x, dropout, undefined, (opts.seed ?? 0) * 1009 + pair.index) as tf.Tensor2D) : x
    if (pair.magnitude) {
      // x' Wᵀ: the base product itself without dropout (less its bias), else the dropped input's own
      const plain = dropped ? frozenProduct(input, lin) : lin.bias ? (tf.sub(base, lin.bias) as tf.Tensor2D) : base
      return doraOutput(base, plain, input, lin, { a: pair.a, b: pair.b, magnitude: pair.magnitude }, scale)
    }
    const low = matMulT(input, pair.a) // [n, rank]
    const update = matMulT(low, pair.b) // [n, out]
    return tf.add(base, tf.mul(update, scale))
  })
}

/** IA³ (PEFT's IA3 Linear forward): `(x Wᵀ + b) ⊙ l` for an output vector l [out, 1], `(x ⊙ l) Wᵀ + b` for a feed-forward one [1, in]. */
export function ia3Linear(x: tf.Tensor2D, lin: Linear, vector: tf.Variable, feedforward: boolean): tf.Tensor2D {
  return tf.tidy(() => {
    const l = tf.reshape(vector, [-1]) as tf.Tensor1D
    return feedforward ? baseLinear(tf.mul(x, l) as tf.Tensor2D, lin) : (tf.mul(baseLinear(x, lin), l) as tf.Tensor2D)
  })
}
