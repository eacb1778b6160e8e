// The BERT encoder with its question-answering head (transformers' BertForQuestionAnswering),
// forward only: every weight is read by its transformers name from `weights`, so a training
// method swaps in variables (full fine-tuning) or wraps linears (LoRA) without another model type.
//   embeddings: LayerNorm(word[ids] + position[0..seq) + tokenType[typeIds])
//   each layer (post-LN): a = LayerNorm(x + dense(attention(x)));  x' = LayerNorm(a + dense(gelu(dense(a))))
//   qa_outputs: [hidden → 2], start and end logits per token.
import type { ModelConfig } from '@tunekit/core'
import { tf } from '../engine.ts'
import { groupedAttention, mergeHeads, splitHeads } from './attention.ts'
import { gelu } from './gelu.ts'
import { layerNorm } from './layer-norm.ts'
import { MASKED } from './mask.ts'
import { matMulT } from './matmul.ts'
import { gatherRows } from './ops.ts'

/** A BERT QA model on the engine: its config and every weight by transformers name (linears [out, in]). */
export interface EncoderModel {
  family: string
  config: ModelConfig
  weights: Map<string, tf.Tensor>
}

/** Rows of question/context pairs; every array is `[batch * seq]`, row-major. */
export interface EncoderBatch {
  batch: number
  seq: number
  ids: Int32Array
  /** Token type (segment) ids: 0 for `[CLS] question [SEP]`, 1 for `context [SEP]`. */
  typeIds: Int32Array
  /** 1 for a real token, 0 for padding (keys with 0 are hidden from every query). */
  attentionMask: Int32Array
}

/** Start and end logits, each `[batch, seq]`. */
export interface QaLogits {
  start: tf.Tensor2D
  end: tf.Tensor2D
}

/** A linear module's output under an optional replacement (LoRA wraps it; full fine-tuning passes variables in `weights`). */
export type LinearHook = (path: string, x: tf.Tensor2D, base: (x: tf.Tensor2D) => tf.Tensor2D) => tf.Tensor2D

function weightOf<T extends tf.Tensor>(model: EncoderModel, name: string): T {
  const w = model.weights.get(name)
  if (!w) throw new Error(`the bert model holds no weight ${JSON.stringify(name)}`)
  return w as T
}

/** Additive key mask `[batch, 1, seq, seq]`: MASKED where the key is padding (transformers' extended attention mask). */
function paddingMask(batch: EncoderBatch): tf.Tensor4D {
  const { batch: b, seq } = batch
  const mask = new Float32Array(b * seq * seq)
  for (let r = 0; r < b; r++) {
    for (let j = 0; j < seq; j++) {
      if (batch.attentionMask[r * seq + j] === 0) for (let i = 0; i < seq; i++) mask[(r * seq + i) * seq + j] = MASKED
    }
  }
  return tf.tensor4d(mask, [b, 1, seq, seq])
}

/** Final hidden states `[batch * seq, hidden]`. */
export function encoderHidden(model: EncoderModel, batch: EncoderBatch, hook?: LinearHook): tf.Tensor2D {
  return tf.tidy(() => {
    const c = model.config
    const eps = c.encoder?.layerNormEps ?? 1e-12
    const w = <T extends tf.Tensor>(name: string) => weightOf<T>(model, name)
    const linear = (path: string, x: tf.Tensor2D): tf.Tensor2D => {
      const base = (input: tf.Tensor2D) => tf.add(matMulT(input, w<tf.Tensor2D>(`${path}.weight`)), w<tf.Tensor1D>(`${path}.bias`)) as tf.Tensor2D
      return hook ? hook(path, x, base) : base(x)
    }
    const norm = (path: string, x: tf.Tensor2D) => layerNorm(x, w(`${path}.weight`), w(`${path}.bias`), eps)
    const positions = Int32Array.from({ length: batch.batch * batch.seq }, (_, i) => i % batch.seq)
    const e = 'bert.embeddings'
    const summed = tf.add(tf.add(gatherRows(w(`${e}.word_embeddings.weight`), batch.ids, c.encoder?.padTokenId), gatherRows(w(`${e}.position_embeddings.weight`), positions)), gatherRows(w(`${e}.token_type_embeddings.weight`), batch.typeIds)) as tf.Tensor2D
    let hidden = norm(`${e}.LayerNorm`, summed) // [n, hidden]; dropout is off (eval, and training with dropout 0)
    const mask = paddingMask(batch)
    const heads = c.numAttentionHeads
    for (let l = 0; l < c.numHiddenLayers; l++) {
      const p = `bert.encoder.layer.${l}`
      const split = (x: tf.Tensor2D) => splitHeads(x, batch.batch, batch.seq, heads, c.headDim) // [batch, heads, seq, headDim]
      const q = split(linear(`${p}.attention.self.query`, hidden))
      const k = split(linear(`${p}.attention.self.key`, hidden))
      const v = split(linear(`${p}.attention.self.value`, hidden))
      const context = mergeHeads(groupedAttention(q, k, v, mask, c)) // softmax(q kᵀ / √headDim + mask) v
      const attended = norm(`${p}.attention.output.LayerNorm`, tf.add(linear(`${p}.attention.output.dense`, context), hidden) as tf.Tensor2D)
      const inner = gelu(linear(`${p}.intermediate.dense`, attended)) // [n, intermediate]
      hidden = norm(`${p}.output.LayerNorm`, tf.add(linear(`${p}.output.dense`, inner), attended) as tf.Tensor2D)
    }
    return hidden
  })
}

/** Start and end logits of a batch (`qa_outputs` on the final hidden states). */
export function qaLogits(model: EncoderModel, batch: EncoderBatch, hook?: LinearHook): QaLogits {
  return tf.tidy(() => {
    const hidden = encoderHidden(model, batch, hook)
    const qa = tf.add(matMulT(hidden, weightOf<tf.Tensor2D>(model, 'qa_outputs.weight')), weightOf<tf.Tensor1D>(model, 'qa_outputs.bias')) as tf.Tensor2D // [n, 2]
    const [start, end] = tf.split(qa, 2, 1) as [tf.Tensor2D, tf.Tensor2D]
    return { start: tf.reshape(start, [batch.batch, batch.seq]) as tf.Tensor2D, end: tf.reshape(end, [batch.batch, batch.seq]) as tf.Tensor2D }
  })
}
