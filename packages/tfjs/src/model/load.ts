import type { ModelConfig } from '@tunekit/core'
import { checkWeights, openModelWeights, readModelConfig, type FloatTensor } from '@tunekit/hf'
import { tf } from '../engine.ts'
import { quantize } from '../quant/linear.ts'
import { quantizedBytes } from '../quant/types.ts'
import { disposeHead, frozenHead, headBytes } from './head.ts'
import { growRows, resizedConfig, VOCAB_WEIGHTS } from './resize.ts'
import { layerLinears, type DecoderLayer, type DecoderModel, type DenseMlp, type FrozenWeight, type Linear, type MoeMlp } from './types.ts'

/** Storage of the frozen linear weights (QLoRA); embeddings, norms and lm_head stay float32. */
export interface QuantizeOptions {
  type: 'nf4' | 'int8'
  blockSize?: number
  doubleQuant?: boolean
}

/** Reads one float tensor by transformers name. */
export type WeightReader = (name: string) => Promise<FloatTensor | undefined>

/** Builds a model from weights by transformers name; each linear weight is quantised as it is read. */
export async function buildModel(family: string, config: ModelConfig, read: WeightReader, opts: { quantize?: QuantizeOptions } = {}): Promise<DecoderModel> {
  const need = async (name: string): Promise<FloatTensor> => {
    const t = await read(name)
    if (!t) throw new Error(`the model has no weight ${JSON.stringify(name)}`)
    return t
  }
  const vector = async (name: string): Promise<tf.Tensor1D> => tf.tensor1d((await need(name)).data)
  const linear = async (path: string, bias: boolean): Promise<Linear> => {
    const w = await need(`${path}.weight`)
    const shape: [number, number] = [w.shape[0]!, w.shape[1]!]
    const weight: FrozenWeight = opts.quantize
      ? { kind: 'quantized', weight: quantize(w.data, shape, opts.quantize) }
      : { kind: 'dense', weightT: tf.tidy(() => tf.transpose(tf.tensor2d(w.data, shape))) }
    return bias ? { path, weight, bias: await vector(`${path}.bias`) } : { path, weight }
  }
  const embedW = await need('model.embed_tokens.weight')
  const embed = tf.tensor2d(embedW.data, [config.vocabSize, config.hiddenSize])
  const layers: DecoderLayer[] = []
  for (let i = 0; i < config.numHiddenLayers; i++) {
    const p = `model.layers.${i}`
    const b = config.attentionBias
    layers.push({
      path: p,
      inputNorm: await vector(`${p}.input_layernorm.weight`),
      postNorm: await vector(`${p}.post_attention_layernorm.weight`),
      ...(config.qkNorm ? { qNorm: await vector(`${p}.self_attn.q_norm.weight`), kNorm: await vector(`${p}.self_attn.k_norm.weight`) } : {}),
      ...(config.gemma2 ? { preFfNorm: await vector(`${p}.pre_feedforward_layernorm.weight`), postFfNorm: await vector(`${p}.post_feedforward_layernorm.weight`) } : {}),
      ...(config.gemma2?.slidingLayers[i] ? { sliding: true as const } : {}),
      // phi-3 keeps q/k/v and gate/up fused, as its checkpoints store them
      qkv: config.fusedProjections
        ? [await linear(`${p}.self_attn.qkv_proj`, b)]
        : [await linear(`${p}.self_attn.q_proj`, b), await linear(`${p}.self_attn.k_proj`, b), await linear(`${p}.self_attn.v_proj`, b)],
      o: await linear(`${p}.self_attn.o_proj`, false),
      mlp: await mlpOf(p, config, linear),
    })
  }
  const norm = await vector('model.norm.weight')
  const head = config.tieWordEmbeddings ? undefined : await read('lm_head.weight')
  const lmHead = head ? tf.tensor2d(head.data, [config.vocabSize, config.hiddenSize]) : embed
  const blocks = frozenHead(lmHead)
  if (lmHead !== embed) lmHead.dispose()
  const score = await read('score.weight')
  return { family, config, embed, layers, norm, head: blocks, ...(score ? { score: tf.tensor2d(score.data, [1, config.hiddenSize]) } : {}) }
}

/** A layer's MLP by its weights: gate/up (phi-3 fused) and down, or Mixtral's router and experts (w1 gate, w3 up, w2 down). */
async function mlpOf(p: string, config: ModelConfig, linear: (path: string, bias: boolean) => Promise<Linear>): Promise<DenseMlp | MoeMlp> {
  if (config.moe) {
    const experts: DenseMlp[] = []
    for (let e = 0; e < config.moe.numExperts; e++) {
      const at = `${p}.block_sparse_moe.experts.${e}`
      experts.push({ gateUp: [await linear(`${at}.w1`, false), await linear(`${at}.w3`, false)], down: await linear(`${at}.w2`, false) })
    }
    return { router: await linear(`${p}.block_sparse_moe.gate`, false), experts }
  }
  const gateUp = config.fusedProjections ? [await linear(`${p}.mlp.gate_up_proj`, false)] : [await linear(`${p}.mlp.gate_proj`, false), await linear(`${p}.mlp.up_proj`, false)]
  return { gateUp, down: await linear(`${p}.mlp.down_proj`, false) }
}

/**
 * Loads a Hugging Face model folder (config.json + safetensors, single or sharded; F32/F16/BF16
 * read as float32). `vocabSize` grows the embedding for added tokens (new rows: the mean row).
 */
export async function loadModel(dir: string, opts: { quantize?: QuantizeOptions; vocabSize?: number } = {}): Promise<DecoderModel> {
  const folder = await readModelConfig(dir)
  // Every weight's shape against config.json from the headers, before a tensor is allocated: a
  // mismatch is a catalog error naming the tensor, not a tfjs shape error halfway through.
  checkWeights(dir, folder)
  const config = resizedConfig(folder.config, opts.vocabSize)
  const weights = await openModelWeights(dir)
  const read: WeightReader = async (name) => {
    if (!weights.names.includes(name)) return undefined
    const t = await weights.readFloat(name)
    return VOCAB_WEIGHTS.has(name) ? growRows(t, config.vocabSize) : t
  }
  try {
    return await buildModel(folder.family, config, read, opts)
  } finally {
    await weights.close()
  }
}

/**
 * The base weights of a folder by transformers name, with the vocabulary rows grown to `vocabSize`
 * (what `initialAdapter` copies saved modules and trainable-token rows from).
 */
export async function baseWeightReader(dir: string, vocabSize?: number): Promise<{ readFloat: (name: string) => Promise<FloatTensor>; close: () => Promise<void> }> {
  const folder = await readModelConfig(dir)
  checkWeights(dir, folder)
  const config = resizedConfig(folder.config, vocabSize)
  const weights = await openModelWeights(dir)
  return {
    readFloat: async (name) => {
      const t = await weights.readFloat(name)
      return VOCAB_WEIGHTS.has(name) ? growRows(t, config.vocabSize) : t
    },
    close: () => weights.close(),
  }
}

/** Bytes the model holds: engine tensors (float32) plus packed quantised weights on the host. */
export function modelBytes(model: DecoderModel): { tensorBytes: number; quantizedBytes: number } {
  let tensorBytes = (model.embed.size + model.norm.size) * 4 + headBytes(model.head)
  let packed = 0
  for (const l of model.layers) {
    for (const n of [l.inputNorm, l.postNorm, l.qNorm, l.kNorm, l.preFfNorm, l.postFfNorm]) tensorBytes += (n?.size ?? 0) * 4
    for (const lin of layerLinears(l)) {
      if (lin.bias) tensorBytes += lin.bias.size * 4
      if (lin.weight.kind === 'dense') tensorBytes += lin.weight.weightT.size * 4
      else packed += quantizedBytes(lin.weight.weight)
    }
  }
  return { tensorBytes, quantizedBytes: packed }
}

export function disposeModel(model: DecoderModel): void {
  const ts: tf.Tensor[] = [model.embed, model.norm, ...(model.score ? [model.score] : [])]
  disposeHead(model.head)
  for (const l of model.layers) {
    for (const n of [l.inputNorm, l.postNorm, l.qNorm, l.kNorm, l.preFfNorm, l.postFfNorm]) if (n) ts.push(n)
    for (const lin of layerLinears(l)) {
      if (lin.bias) ts.push(lin.bias)
      if (lin.weight.kind === 'dense') ts.push(lin.weight.weightT)
    }
  }
  tf.dispose(ts)
}
