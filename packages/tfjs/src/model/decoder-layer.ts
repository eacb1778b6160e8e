import { tf } from '../engine.ts'
import type { AdapterState } from '../methods/state.ts'
import { groupedAttention, mergeHeads, splitHeads, type KvEntry } from './attention.ts'
import { ia3Linear, loraLinear, trainedLinear, type ForwardOptions } from './linear.ts'
import { swiglu } from './mlp.ts'
import { modelNorm } from './rmsnorm.ts'
import { applyRope } from './rope.ts'
import { moeBlock } from './moe.ts'
import { isMoe, type DecoderLayer, type DecoderModel, type DenseMlp, type Linear } from './types.ts'

// One decoder layer of every decoder family (llama, mistral, qwen2/3, gemma/2, phi-3, mixtral): the forward pass (decoder.ts), the
// gradient-checkpointed recompute (recompute.ts) and generation's cached steps (generate.ts) call it.

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
  /** Gemma 2: the mask of its sliding-window layers (`mask` then has no window). */
  slidingMask?: tf.Tensor4D
}

function project(ctx: LayerContext, x: tf.Tensor2D, lin: Linear): tf.Tensor2D {
  const a = ctx.adapter
  const trained = a?.weights.get(`${lin.path}.weight`)
  if (trained) return trainedLinear(x, trained as tf.Variable<tf.Rank.R2>, (a!.weights.get(`${lin.path}.bias`) as tf.Variable<tf.Rank.R1> | undefined) ?? lin.bias)
  const scaled = a?.ia3?.get(lin.path)
  if (scaled) return ia3Linear(x, lin, scaled.vector, scaled.feedforward)
  return loraLinear(x, lin, a?.lora.get(lin.path), a?.scale ?? 0, a?.dropout ?? 0, ctx.opts)
}

/**
 * The outputs of the modules `lins` on x, cut to `widths`: one per module, or one fused module's
 * output split along its features (phi-3's [q | k | v], [gate | up]).
 */
function projectSplit(ctx: LayerContext, x: tf.Tensor2D, lins: readonly Linear[], widths: readonly number[]): tf.Tensor2D[] {
  if (lins.length === widths.length) return lins.map((lin) => project(ctx, x, lin))
  return tf.split(project(ctx, x, lins[0]!), [...widths], 1)
}

/** The gated MLP of x: SwiGLU, or Gemma's GeGLU. */
export function denseMlp(ctx: LayerContext, x: tf.Tensor2D, mlp: DenseMlp): tf.Tensor2D {
  const width = ctx.model.config.intermediateSize
  const gateUp = (t: tf.Tensor2D) => projectSplit(ctx, t, mlp.gateUp, [width, width]) as [tf.Tensor2D, tf.Tensor2D]
  return swiglu(x, gateUp, (t) => project(ctx, t, mlp.down), ctx.model.config.gemma === true)
}

/** A norm's weight: the trained copy under full / freeze, else the frozen one. */
export const normWeight = (ctx: LayerContext, name: string, frozen: tf.Tensor1D): tf.Tensor1D => (ctx.adapter?.weights.get(name) as tf.Tensor1D | undefined) ?? frozen

/** qwen3's RMSNorm over each head's width of q or k [batch, heads, seq, headDim]; the identity without one. */
function headNorm(ctx: LayerContext, layer: DecoderLayer, name: 'q_norm' | 'k_norm', frozen: tf.Tensor1D | undefined, x: tf.Tensor4D): tf.Tensor4D {
  if (!frozen) return x
  return modelNorm(ctx.model.config, x, normWeight(ctx, `${layer.path}.self_attn.${name}.weight`, frozen)) as tf.Tensor4D
}

/**
 * One pre-norm decoder layer: `x + attn(norm(x))`, then `h + mlp(norm(h))`. x: [batch * seq, hidden].
 * With `cache`, keys/values of earlier tokens are prepended and the entry is replaced by the longer one.
 */
export function decoderLayer(ctx: LayerContext, layer: DecoderLayer, x: tf.Tensor2D, cache?: { entries: KvEntry[]; index: number }): tf.Tensor2D {
  const c = ctx.model.config
  const normed = modelNorm(c, x, normWeight(ctx, `${layer.path}.input_layernorm.weight`, layer.inputNorm)) as tf.Tensor2D
  const kvWidth = c.numKeyValueHeads * c.headDim
  const [qOut, kOut, vOut] = projectSplit(ctx, normed, layer.qkv, [c.numAttentionHeads * c.headDim, kvWidth, kvWidth])
  const q = applyRope(headNorm(ctx, layer, 'q_norm', layer.qNorm, splitHeads(qOut!, ctx.batch, ctx.seq, c.numAttentionHeads, c.headDim)), ctx.cos, ctx.sin)
  let k = applyRope(headNorm(ctx, layer, 'k_norm', layer.kNorm, splitHeads(kOut!, ctx.batch, ctx.seq, c.numKeyValueHeads, c.headDim)), ctx.cos, ctx.sin)
  let v = splitHeads(vOut!, ctx.batch, ctx.seq, c.numKeyValueHeads, c.headDim)
  if (cache) {
    const past = cache.entries[cache.index]
    if (past) {
      k = tf.concat([past.k, k], 2)
      v = tf.concat([past.v, v], 2)
    }
    cache.entries[cache.index] = { k: tf.keep(k), v: tf.keep(v) }
    if (past) tf.dispose([past.k, past.v])
  }
  const attended = mergeHeads(groupedAttention(q, k, v, layer.sliding && ctx.slidingMask ? ctx.slidingMask : ctx.mask, c))
  const norm = (name: string, frozen: tf.Tensor1D, t: tf.Tensor2D): tf.Tensor2D => modelNorm(c, t, normWeight(ctx, `${layer.path}.${name}.weight`, frozen)) as tf.Tensor2D
  const out = project(ctx, attended, layer.o)
  // Gemma 2 norms the attention output (post_attention_layernorm) and both sides of the MLP
  const pre = layer.preFfNorm
  const h = tf.add(x, pre ? norm('post_attention_layernorm', layer.postNorm, out) : out) as tf.Tensor2D
  const normed2 = pre ? norm('pre_feedforward_layernorm', pre, h) : norm('post_attention_layernorm', layer.postNorm, h)
  const mlp = isMoe(layer.mlp) ? moeBlock(normed2, layer.mlp, c, (t, lin) => project(ctx, t, lin), ctx.opts) : denseMlp(ctx, normed2, layer.mlp)
  return tf.add(h, layer.postFfNorm ? norm('post_feedforward_layernorm', layer.postFfNorm, mlp) : mlp) as tf.Tensor2D
}
