import { tf } from '../engine.ts'
import { loraLinear, trainedLinear, type ForwardOptions } from './linear.ts'
import type { AdapterState } from '../methods/state.ts'
import { applyRope, ropeTables } from './rope.ts'
import { groupedAttention, mergeHeads, splitHeads, type KvEntry } from './attention.ts'
import { causalSegmentMask } from './mask.ts'
import { swiglu } from './mlp.ts'
import { frozenHeadLogits } from './head.ts'
import { matMul, matMulT } from './matmul.ts'
import { gatherRows } from './ops.ts'
import { rmsNorm } from './rmsnorm.ts'
import { checkpointed } from './recompute.ts'
import type { DecoderLayer, DecoderModel, Linear, TokenBatch } from './types.ts'

/** What every layer of one forward pass shares. */
export interface LayerContext {
  model: DecoderModel
  adapter: AdapterState | undefined
  opts: ForwardOptions
  batch: number
  seq: number
  cos: tf.Tensor4D // [batch, 1, seq, headDim]
  sin: tf.Tensor4D
  mask: tf.Tensor4D // [batch, 1, seq, seqK]
}

function project(ctx: LayerContext, x: tf.Tensor2D, lin: Linear): tf.Tensor2D {
  const a = ctx.adapter
  const trained = a?.weights.get(`${lin.path}.weight`)
  if (trained) return trainedLinear(x, trained as tf.Variable<tf.Rank.R2>, (a!.weights.get(`${lin.path}.bias`) as tf.Variable<tf.Rank.R1> | undefined) ?? lin.bias)
  return loraLinear(x, lin, a?.lora.get(lin.path), a?.scale ?? 0, a?.dropout ?? 0, ctx.opts)
}

/** A norm's weight: the trained copy under full / freeze, else the frozen one. */
const normWeight = (ctx: LayerContext, name: string, frozen: tf.Tensor1D): tf.Tensor1D => (ctx.adapter?.weights.get(name) as tf.Tensor1D | undefined) ?? frozen

/**
 * One pre-norm decoder layer: `x + attn(norm(x))`, then `h + mlp(norm(h))`. x: [batch * seq, hidden].
 * With `cache`, keys/values of earlier tokens are prepended and the entry is replaced by the longer one.
 */
export function decoderLayer(ctx: LayerContext, layer: DecoderLayer, x: tf.Tensor2D, cache?: { entries: KvEntry[]; index: number }): tf.Tensor2D {
  const c = ctx.model.config
  const eps = c.rmsNormEps
  const normed = rmsNorm(x, normWeight(ctx, `${layer.path}.input_layernorm.weight`, layer.inputNorm), eps) as tf.Tensor2D
  const q = applyRope(splitHeads(project(ctx, normed, layer.q), ctx.batch, ctx.seq, c.numAttentionHeads, c.headDim), ctx.cos, ctx.sin)
  let k = applyRope(splitHeads(project(ctx, normed, layer.k), ctx.batch, ctx.seq, c.numKeyValueHeads, c.headDim), ctx.cos, ctx.sin)
  let v = splitHeads(project(ctx, normed, layer.v), ctx.batch, ctx.seq, c.numKeyValueHeads, c.headDim)
  if (cache) {
    const past = cache.entries[cache.index]
    if (past) {
      k = tf.concat([past.k, k], 2)
      v = tf.concat([past.v, v], 2)
    }
    cache.entries[cache.index] = { k: tf.keep(k), v: tf.keep(v) }
    if (past) tf.dispose([past.k, past.v])
  }
  const attended = mergeHeads(groupedAttention(q, k, v, ctx.mask, c))
  const h = tf.add(x, project(ctx, attended, layer.o)) as tf.Tensor2D
  const normed2 = rmsNorm(h, normWeight(ctx, `${layer.path}.post_attention_layernorm.weight`, layer.postNorm), eps) as tf.Tensor2D
  const mlp = swiglu(normed2, (t) => project(ctx, t, layer.gate), (t) => project(ctx, t, layer.up), (t) => project(ctx, t, layer.down))
  return tf.add(h, mlp) as tf.Tensor2D
}

/** Token embeddings [n, hidden]: the saved copy if trained, with `trainableTokens` rows swapped in. */
export function embed(model: DecoderModel, adapter: AdapterState | undefined, ids: Int32Array): tf.Tensor2D {
  return tf.tidy(() => {
    const hidden = gatherRows(adapter?.embed ?? model.embed, ids)
    const tokens = adapter?.tokens
    if (!tokens) return hidden
    const local = new Int32Array(ids.length)
    const isTrained = new Float32Array(ids.length)
    ids.forEach((id, i) => {
      const at = tokens.index.get(id)
      if (at !== undefined) {
        local[i] = at
        isTrained[i] = 1
      }
    })
    const mask = tf.tensor2d(isTrained, [ids.length, 1])
    return tf.add(hidden, tf.mul(tf.sub(gatherRows(tokens.rows, local), hidden), mask)) as tf.Tensor2D
  })
}

/** Logits [n, vocab] of final hidden states [n, hidden]: `hidden · lm_headᵀ`. */
export function headLogits(model: DecoderModel, adapter: AdapterState | undefined, hidden: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const logits: tf.Tensor2D = adapter?.lmHead ? matMulT(hidden, adapter.lmHead) : frozenHeadLogits(hidden, model.head)
    const tokens = adapter?.tokens
    // Tied embeddings: the trained rows are also the output rows of those tokens.
    if (!tokens || !model.config.tieWordEmbeddings || adapter?.lmHead) return logits
    const vocab = model.config.vocabSize
    const scatter = new Float32Array(tokens.ids.length * vocab) // [trained, vocab] one-hot
    const keep = new Float32Array(vocab).fill(1)
    tokens.ids.forEach((id, i) => {
      scatter[i * vocab + id] = 1
      keep[id] = 0
    })
    const trained = matMul(matMulT(hidden, tokens.rows), tf.tensor2d(scatter, [tokens.ids.length, vocab]))
    return tf.add(tf.mul(logits, tf.tensor1d(keep)), trained) as tf.Tensor2D
  })
}

/** Rotary tables [batch, 1, seq, headDim] for the batch's position ids. */
export function ropeFor(model: DecoderModel, positions: Int32Array, batch: number, seq: number): { cos: tf.Tensor4D; sin: tf.Tensor4D } {
  const d = model.config.headDim
  const { cos, sin } = ropeTables(positions, d, model.config.ropeTheta)
  return { cos: tf.tensor4d(cos, [batch, 1, seq, d]), sin: tf.tensor4d(sin, [batch, 1, seq, d]) }
}

/**
 * Final hidden states [batch * seq, hidden] (after the last RMSNorm). Attention is causal within
 * each packed segment; `gradientCheckpointing` recomputes each layer in the backward pass.
 */
export function forwardHidden(model: DecoderModel, adapter: AdapterState | undefined, batch: TokenBatch, opts: ForwardOptions & { gradientCheckpointing?: boolean } = {}): tf.Tensor2D {
  return tf.tidy(() => {
    const { cos, sin } = ropeFor(model, batch.positions, batch.batch, batch.seq)
    const maskData = causalSegmentMask(batch.batch, batch.seq, batch.segments, model.config.slidingWindow)
    const mask = tf.tensor4d(maskData, [batch.batch, 1, batch.seq, batch.seq])
    const ctx: LayerContext = { model, adapter, opts, batch: batch.batch, seq: batch.seq, cos, sin, mask }
    let hidden = embed(model, adapter, batch.ids)
    model.layers.forEach((layer, i) => {
      hidden = opts.gradientCheckpointing && opts.training ? checkpointed(ctx, layer, i, hidden) : decoderLayer(ctx, layer, hidden)
    })
    return rmsNorm(hidden, normWeight(ctx, 'model.norm.weight', model.norm), model.config.rmsNormEps) as tf.Tensor2D
  })
}

/** Logits [batch * seq, vocab] of a batch. */
export function forward(model: DecoderModel, adapter: AdapterState | undefined, batch: TokenBatch, opts: ForwardOptions = {}): tf.Tensor2D {
  return tf.tidy(() => headLogits(model, adapter, forwardHidden(model, adapter, batch, opts)))
}
