import type { ModelConfig } from '@tunekit/core'
import { tf } from '../engine.ts'
import { softcap } from './attention.ts'
import type { ForwardOptions } from './linear.ts'
import type { AdapterState } from '../methods/state.ts'
import { ropeTables } from './rope.ts'
import { causalSegmentMask } from './mask.ts'
import { frozenHeadLogits } from './head.ts'
import { matMul, matMulT } from './matmul.ts'
import { gatherRows } from './ops.ts'
import { modelNorm } from './rmsnorm.ts'
import { checkpointed } from './recompute.ts'
import { dropVirtual, prependVirtual, virtualPrompt, withVirtualTokens } from './virtual-tokens.ts'
import { afterPrefix, prefixPast, withPrefixColumns } from './prefix.ts'
import { decoderLayer, normWeight, type LayerContext } from './decoder-layer.ts'

export { decoderLayer, type LayerContext } from './decoder-layer.ts'
import type { DecoderModel, TokenBatch } from './types.ts'

/**
 * Token embeddings [n, hidden]: the saved copy if trained, with `trainableTokens` rows swapped in;
 * Gemma's scaled by `sqrt(hidden)` (in float32, as GemmaTextScaledWordEmbedding).
 */
export function embed(model: DecoderModel, adapter: AdapterState | undefined, ids: Int32Array): tf.Tensor2D {
  return tf.tidy(() => {
    const rows = embedRows(model, adapter, ids)
    return model.config.gemma ? tf.mul(rows, Math.fround(Math.sqrt(model.config.hiddenSize))) : rows
  })
}

function embedRows(model: DecoderModel, adapter: AdapterState | undefined, ids: Int32Array): tf.Tensor2D {
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
function headRows(model: DecoderModel, adapter: AdapterState | undefined, hidden: tf.Tensor2D): tf.Tensor2D {
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

/** Logits [n, vocab] of final hidden states: `headRows`, soft-capped for Gemma 2 (`final_logit_softcapping`). */
export function headLogits(model: DecoderModel, adapter: AdapterState | undefined, hidden: tf.Tensor2D): tf.Tensor2D {
  const cap = model.config.gemma2?.finalLogitSoftcapping
  return cap ? tf.tidy(() => softcap(headRows(model, adapter, hidden), cap)) : headRows(model, adapter, hidden)
}

/** Rotary tables [batch, 1, seq, headDim] for the batch's position ids. */
export function ropeFor(model: DecoderModel, positions: Int32Array, batch: number, seq: number): { cos: tf.Tensor4D; sin: tf.Tensor4D } {
  const d = model.config.headDim
  const c = model.config
  const { cos, sin } = ropeTables(positions, { theta: c.ropeTheta, dim: d, maxPositionEmbeddings: c.maxPositionEmbeddings, ...(c.ropeScaling ? { scaling: c.ropeScaling } : {}) })
  return { cos: tf.tensor4d(cos, [batch, 1, seq, d]), sin: tf.tensor4d(sin, [batch, 1, seq, d]) }
}

/**
 * The attention masks of a forward pass from a mask maker (window or null): one for every layer,
 * with the config's sliding window (Mistral's), or Gemma 2's full mask plus its sliding layers' one.
 */
export function layerMasks(c: ModelConfig, make: (window: number | null) => tf.Tensor4D): { mask: tf.Tensor4D; slidingMask?: tf.Tensor4D } {
  if (!c.gemma2) return { mask: make(c.slidingWindow) }
  return { mask: make(null), slidingMask: make(c.slidingWindow) }
}

/**
 * Final hidden states [batch * seq, hidden] (after the last RMSNorm). Attention is causal within
 * each packed segment; `gradientCheckpointing` recomputes each layer in the backward pass.
 */
export function forwardHidden(model: DecoderModel, adapter: AdapterState | undefined, batch: TokenBatch, opts: ForwardOptions & { gradientCheckpointing?: boolean } = {}): tf.Tensor2D {
  return tf.tidy(() => {
    const training = opts.training === true
    // prompt tuning, P-tuning: the layers see each row with its virtual tokens first (virtual-tokens.ts)
    const prompt = virtualPrompt(adapter, training)
    // prefix tuning: each layer's attention sees the prefix as past keys and values (prefix.ts)
    const prefix = adapter?.prefix?.(training)
    const n = prefix?.shape[0] ?? 0
    const rows = prompt ? withVirtualTokens(batch, prompt.shape[0]) : prefix ? afterPrefix(batch, n) : batch
    const { cos, sin } = ropeFor(model, rows.positions, rows.batch, rows.seq)
    const rowMask = (window: number | null): Float32Array => causalSegmentMask(rows.batch, rows.seq, rows.segments, window)
    const masks = layerMasks(model.config, (window) => tf.tensor4d(prefix ? withPrefixColumns(rowMask(window), rows.batch, rows.seq, n, window) : rowMask(window), [rows.batch, 1, rows.seq, n + rows.seq]))
    const ctx: LayerContext = { model, adapter, opts, batch: rows.batch, seq: rows.seq, cos, sin, ...masks, ...(prefix ? { prefix: prefixPast(model.config, prefix, batch.batch) } : {}) }
    let hidden = embed(model, adapter, batch.ids)
    if (prompt) hidden = prependVirtual(hidden, prompt, batch.batch, batch.seq)
    // PEFT refuses gradient checkpointing with prefix tuning (PrefixTuningCheckpointing at check)
    const recompute = opts.gradientCheckpointing === true && training && !prefix
    model.layers.forEach((layer, i) => {
      hidden = recompute ? checkpointed(ctx, layer, i, hidden) : decoderLayer(ctx, layer, hidden)
    })
    const out = modelNorm(model.config, hidden, normWeight(ctx, 'model.norm.weight', model.norm)) as tf.Tensor2D
    return prompt ? dropVirtual(out, batch.batch, prompt.shape[0], batch.seq) : out
  })
}

/** Logits [batch * seq, vocab] of a batch. */
export function forward(model: DecoderModel, adapter: AdapterState | undefined, batch: TokenBatch, opts: ForwardOptions = {}): tf.Tensor2D {
  return tf.tidy(() => headLogits(model, adapter, forwardHidden(model, adapter, batch, opts)))
}
