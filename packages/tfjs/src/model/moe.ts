// Mixtral's sparse mixture of experts (transformers' MixtralSparseMoeBlock) and its load-balancing
// loss (load_balancing_loss_func, Switch Transformer eqs. 4–6), in float32.
import type { ModelConfig } from '@tunekit/core'
import { tf } from '../engine.ts'
import type { ForwardOptions, RouterRecord } from './linear.ts'
import { swiglu } from './mlp.ts'
import type { Linear, MoeMlp } from './types.ts'

/** Row-wise top-k of probs [n, experts] as a 0/1 mask, chosen on the host: the choice carries no gradient (torch.topk's indices). */
function topKMask(probs: Float32Array, rows: number, experts: number, k: number): Float32Array {
  const chosen = new Float32Array(rows * experts)
  for (let r = 0; r < rows; r++) {
    const order = Array.from({ length: experts }, (_, e) => e).sort((a, b) => probs[r * experts + b]! - probs[r * experts + a]! || a - b)
    for (const e of order.slice(0, k)) chosen[r * experts + e] = 1
  }
  return chosen
}

/**
 * `Σ_e w_e(x) · expert_e(x)` with `w = topk(softmax(router(x)))` renormalised over the chosen k
 * (MixtralTopKRouter), `expert_e(x) = w2(silu(w1 x) · w3 x)`. x: [n, hidden]. Every expert runs on
 * every row and the unchosen ones are weighted 0 (the same sum as routing; experts/topK times the
 * expert FLOPs, which tiny models afford). With `opts.router`, the layer's probabilities are kept there.
 */
export function moeBlock(x: tf.Tensor2D, moe: MoeMlp, c: ModelConfig, project: (t: tf.Tensor2D, lin: Linear) => tf.Tensor2D, opts: ForwardOptions): tf.Tensor2D {
  const { numExperts, topK } = c.moe!
  const rows = x.shape[0]
  const probs = tf.softmax(project(x, moe.router), -1) as tf.Tensor2D // [n, experts]
  const chosen = topKMask(probs.dataSync() as Float32Array, rows, numExperts, topK)
  if (opts.router) opts.router.push({ probs: tf.keep(probs), chosen })
  return tf.tidy(() => {
    const kept = tf.mul(probs, tf.tensor2d(chosen, [rows, numExperts]))
    const weights = tf.div(kept, tf.sum(kept, -1, true)) // [n, experts], k non-zero per row summing to 1
    const columns = tf.split(weights, numExperts, 1) // [n, 1] each
    return moe.experts.reduce<tf.Tensor2D>((sum, expert, e) => {
      const [w1, w3] = expert.gateUp
      const out = swiglu(x, (t) => [project(t, w1!), project(t, w3!)], (t) => project(t, expert.down))
      return tf.add(sum, tf.mul(out, columns[e]!))
    }, tf.zerosLike(x))
  })
}

/**
 * transformers' load_balancing_loss_func over the recorded layers, counting only `real` rows
 * (1 = a token, 0 = padding): `experts · Σ_e f_e · P_e`, f_e the share of (row, layer) pairs whose
 * top-k holds e (summed over the k slots), P_e the mean router probability of e. Gradient flows
 * through P only. Disposes the records.
 */
export function loadBalancingLoss(records: RouterRecord[], real: Float32Array, c: ModelConfig): tf.Scalar {
  const { numExperts } = c.moe!
  const rowCount = real.reduce((n, v) => n + v, 0) * records.length
  const counts = new Float32Array(numExperts) // f_e · rowCount
  for (const { chosen } of records) real.forEach((m, r) => { for (let e = 0; e < numExperts; e++) counts[e]! += m * chosen[r * numExperts + e]! })
  const loss = tf.tidy(() => {
    const mask = tf.tensor2d(real, [real.length, 1])
    const probSum = records.reduce<tf.Tensor>((sum, { probs }) => tf.add(sum, tf.sum(tf.mul(probs, mask), 0)), tf.zeros([numExperts])) // [experts]
    const f = tf.tensor1d(counts.map((n) => n / rowCount))
    return tf.mul(tf.sum(tf.mul(f, tf.div(probSum, rowCount))), numExperts) as tf.Scalar
  })
  tf.dispose(records.map((r) => r.probs))
  return loss
}
