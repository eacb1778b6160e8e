import { tf } from '../engine.ts'

/** Vocabulary columns per block: wasm's XNNPACK runs [n, h] @ [h, 4000] blocks ~1.5x faster than one [h, 32000] product. */
export const HEAD_BLOCK = 4000

/** A frozen lm_head cut along the vocabulary, in both layouts (forward and backward need no transpose). */
export interface FrozenHead {
  /** [hidden, ≤ HEAD_BLOCK] each: the forward pass's right operands. */
  columns: tf.Tensor2D[]
  /** [≤ HEAD_BLOCK, hidden] each: the backward pass's `dx = dy · W` operands. */
  rows: tf.Tensor2D[]
  vocab: number
}

/** The sizes of the vocabulary blocks of a `vocab`-row head: HEAD_BLOCK each, the last the rest. */
export const headBlockSizes = (vocab: number): number[] =>
  Array.from({ length: Math.ceil(vocab / HEAD_BLOCK) }, (_, i) => Math.min(HEAD_BLOCK, vocab - i * HEAD_BLOCK))

/** Cuts a [vocab, hidden] lm_head into blocks (copies; the input is left to the caller). */
export function frozenHead(lmHead: tf.Tensor2D): FrozenHead {
  const [vocab] = lmHead.shape
  const rows = tf.split(lmHead, headBlockSizes(vocab), 0) as tf.Tensor2D[]
  return { rows, columns: rows.map((r) => tf.transpose(r)), vocab }
}

/** `x · lm_headᵀ` → logits [n, vocab]; only x gets a gradient. */
export function frozenHeadLogits(x: tf.Tensor2D, head: FrozenHead): tf.Tensor2D {
  const op = tf.customGrad((input) => {
    const value = tf.tidy(() => tf.concat(head.columns.map((c) => tf.matMul(input as tf.Tensor2D, c)), 1))
    const gradFunc = (dy: tf.Tensor): tf.Tensor =>
      tf.tidy(() => {
        const parts = tf.split(dy, head.rows.map((r) => r.shape[0]), 1) as tf.Tensor2D[]
        return tf.addN(parts.map((d, i) => tf.matMul(d, head.rows[i]!)))
      })
    return { value, gradFunc }
  })
  return op(x) as tf.Tensor2D
}

/** The whole [vocab, hidden] matrix again (a copy). */
export const headMatrix = (head: FrozenHead): tf.Tensor2D => tf.concat(head.rows, 0)

export const headBytes = (head: FrozenHead): number => 2 * 4 * head.rows.reduce((n, r) => n + r.size, 0)

export const disposeHead = (head: FrozenHead): void => tf.dispose([...head.rows, ...head.columns])
