import { tf, type Var2D } from '../engine.ts'
import { headBlockSizes, type FrozenHead } from './head.ts'

// Next-token cross-entropy fused with the lm_head product, one vocabulary block at a time: a
// block's logits [n, ≤ HEAD_BLOCK] live only until their exp, the [n, vocab] logits and their
// gradient never exist whole, and the backward reuses the forward's exp (no second exp over the
// logits). The blocks' softmax is combined online (each block's exp is taken against its own row
// max, rescaled by exp(max_block − max) afterwards), so the value is Σ logsumexp − logit[target].

/** Where the targets fall in each block: flat indices into its [n, width] logits, and their (row, column) pairs. */
interface BlockTargets {
  flat: Int32Array
  pairs: Int32Array
}

function targetsByBlock(targets: Int32Array, widths: number[]): BlockTargets[] {
  let offset = 0
  return widths.map((width) => {
    const flat: number[] = []
    const pairs: number[] = []
    targets.forEach((t, r) => {
      if (t >= offset && t < offset + width) {
        flat.push(r * width + t - offset)
        pairs.push(r, t - offset)
      }
    })
    offset += width
    return { flat: Int32Array.from(flat), pairs: Int32Array.from(pairs) }
  })
}

interface Forward {
  value: tf.Scalar
  /** Each block's exp(logits − the block's row max) [n, width]. */
  exps: tf.Tensor2D[]
  /** Each block's exp(max_block − max) [n, 1] over the softmax's denominator: the block's softmax is `exp · weight`. */
  weights: tf.Tensor2D[]
}

function forwardBlocks(x: tf.Tensor2D, columns: readonly tf.Tensor2D[], at: readonly BlockTargets[]): Forward {
  return tf.tidy(() => {
    const picked: tf.Tensor[] = []
    const blocks = columns.map((c, i) =>
      tf.tidy(() => {
        const logits = tf.matMul(x, c) // [n, width]
        const flat = at[i]!.flat
        if (flat.length > 0) picked.push(tf.keep(tf.sum(tf.gather(tf.reshape(logits, [-1]), tf.tensor1d(flat, 'int32')))))
        const max = tf.max(logits, 1, true) as tf.Tensor2D
        return { e: tf.exp(tf.sub(logits, max)) as tf.Tensor2D, max }
      }),
    )
    const max = tf.max(tf.concat(blocks.map((b) => b.max), 1), 1, true) // [n, 1]
    const scales = blocks.map((b) => tf.exp(tf.sub(b.max, max)))
    const sum = tf.addN(blocks.map((b, i) => tf.mul(tf.sum(b.e, 1, true), scales[i]!))) // softmax denominator against the global max
    const lse = tf.add(max, tf.log(sum))
    const value = tf.sub(tf.sum(lse), picked.length > 0 ? tf.addN(picked) : 0) as tf.Scalar
    return { value, exps: blocks.map((b) => b.e), weights: scales.map((s) => tf.div(s, sum) as tf.Tensor2D) }
  })
}

/** d loss / d logits of block i: dy · (softmax − onehot(target)), [n, width]. */
function blockGrad(dy: tf.Tensor, exp: tf.Tensor2D, weight: tf.Tensor2D, at: BlockTargets): tf.Tensor2D {
  return tf.tidy(() => {
    const [n, width] = exp.shape
    const probs = tf.mul(exp, tf.mul(weight, dy)) as tf.Tensor2D
    const hits = at.pairs.length / 2
    if (hits === 0) return probs
    return tf.sub(probs, tf.scatterND(tf.tensor2d(at.pairs, [hits, 2], 'int32'), tf.mul(tf.ones([hits]), dy), [n, width])) as tf.Tensor2D
  })
}

/** `Σ_rows logsumexp(x · lm_headᵀ) − (x · lm_headᵀ)[target]` for a frozen head: only x gets a gradient. */
function frozenHeadLoss(x: tf.Tensor2D, head: FrozenHead, targets: Int32Array): tf.Scalar {
  const at = targetsByBlock(targets, head.rows.map((r) => r.shape[0]))
  const op = tf.customGrad((input, save) => {
    const f = forwardBlocks(input as tf.Tensor2D, head.columns, at)
    ;(save as tf.GradSaveFunc)([...f.exps, ...f.weights])
    const count = head.rows.length
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor =>
      tf.tidy(() => tf.addN(head.rows.map((rows, i) => tf.tidy(() => tf.matMul(blockGrad(dy, saved[i] as tf.Tensor2D, saved[count + i] as tf.Tensor2D, at[i]!), rows)))))
    return { value: f.value, gradFunc }
  })
  return op(x) as tf.Scalar
}

/** The same for a trained lm_head w [vocab, hidden]: gradients for x and w, one block each way at a time. */
function trainedHeadLoss(x: tf.Tensor2D, w: Var2D, targets: Int32Array): tf.Scalar {
  const widths = headBlockSizes(w.shape[0])
  const at = targetsByBlock(targets, widths)
  const op = tf.customGrad((input, weight, save) => {
    const rows = tf.split(weight as tf.Tensor2D, widths, 0) as tf.Tensor2D[] // [width, hidden] each
    const columns = rows.map((r) => tf.transpose(r))
    const f = forwardBlocks(input as tf.Tensor2D, columns, at)
    tf.dispose(columns)
    // saved: the blocks' exps, their weights, x, the blocks of w
    ;(save as tf.GradSaveFunc)([...f.exps, ...f.weights, input as tf.Tensor, ...rows])
    const count = widths.length
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] =>
      tf.tidy(() => {
        const x = saved[2 * count] as tf.Tensor2D // [n, hidden]
        const dx: tf.Tensor[] = []
        const dw: tf.Tensor[] = []
        for (let i = 0; i < count; i++) {
          const g = blockGrad(dy, saved[i] as tf.Tensor2D, saved[count + i] as tf.Tensor2D, at[i]!)
          dx.push(tf.matMul(g, saved[2 * count + 1 + i] as tf.Tensor2D)) // g · w_block: [n, hidden]
          // gᵀ x: [width, hidden]. XNNPACK runs [width, n] · [n, hidden] at ≈ 2× the rate of (xᵀ g)ᵀ's [hidden, n] · [n, width]
          // (1.3 s against 2.0 s of CPU for the 8 blocks of issue 21's job, transposing g included), and packs x, the same
          // right operand for every block, once
          dw.push(tf.tidy(() => tf.matMul(tf.transpose(g), x)))
          g.dispose()
        }
        return [tf.addN(dx), tf.concat(dw, 0)]
      })
    return { value: f.value, gradFunc }
  })
  return op(x, w) as tf.Scalar
}

/**
 * Summed next-token cross-entropy of final hidden states x [n, hidden] through the lm_head (frozen
 * blocks, or a trained [vocab, hidden] variable) against `targets` [n]: a scalar, differentiable
 * in x (and the trained head). Equal to `crossEntropySum(x · lm_headᵀ, targets)` within round-off.
 */
export function headCrossEntropySum(x: tf.Tensor2D, head: FrozenHead | Var2D, targets: Int32Array): tf.Scalar {
  return head instanceof tf.Variable ? trainedHeadLoss(x, head, targets) : frozenHeadLoss(x, head as FrozenHead, targets)
}
