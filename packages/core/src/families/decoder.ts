import type { BuiltinTemplateName } from '../schema/template-names.ts'
import { fail } from '../errors/tunekit-error.ts'
import { readRopeScaling, ropeScalingJson } from './rope-scaling.ts'
import type { FamilyInfo, Gemma2Config, ModelConfig, MoeConfig } from './types.ts'

// The llama-style decoder shared by llama, mistral, qwen2/3, gemma/2 and phi-3 (transformers'
// LlamaForCausalLM, …, Phi3ForCausalLM): pre-norm RMSNorm, GQA attention with rotary embeddings,
// gated MLP. Each family states only what differs (its `defaults`); phi-3 fuses q/k/v into one
// `qkv_proj` and gate/up into one `gate_up_proj`, so its module names differ too.

export const decoderLinear = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const
/** Phi-3's linear modules (Phi3Attention registers o_proj before qkv_proj). */
export const phi3Linear = ['o_proj', 'qkv_proj', 'gate_up_proj', 'down_proj'] as const
/** Mixtral's attention modules: what PEFT's `all-linear` finds in transformers 5's Mixtral (its experts are 3-D parameters). */
export const attentionLinear = ['q_proj', 'k_proj', 'v_proj', 'o_proj'] as const
/** Mixtral's expert projections (`block_sparse_moe.experts.<e>.w1 / w2 / w3`) and router (`block_sparse_moe.gate`). */
export const mixtralExperts = ['w1', 'w2', 'w3', 'gate'] as const
export const decoderSaveable = ['embed_tokens', 'lm_head'] as const
export type DecoderLinear = (typeof decoderLinear)[number]
export type Phi3Linear = (typeof phi3Linear)[number]
export type MixtralExpert = (typeof mixtralExperts)[number]
/** A linear module of any llama-style decoder. */
export type AnyDecoderLinear = DecoderLinear | Phi3Linear | MixtralExpert
export type DecoderSaveable = (typeof decoderSaveable)[number]

const MLP_MODULES: ReadonlySet<string> = new Set(['gate_proj', 'up_proj', 'down_proj', 'gate_up_proj'])
const MOE_MODULES: ReadonlySet<string> = new Set(mixtralExperts)

/**
 * The submodule a decoder layer's linear module lives in (`model.layers.<i>.<group>.<module>`):
 * `mlp`, `self_attn`, or Mixtral's `block_sparse_moe` (its experts one level further, `experts.<e>`).
 */
export const decoderModuleGroup = (module: string): 'mlp' | 'self_attn' | 'block_sparse_moe' => (MLP_MODULES.has(module) ? 'mlp' : MOE_MODULES.has(module) ? 'block_sparse_moe' : 'self_attn')

/** Mixtral's fields with MixtralConfig's defaults (8 experts, top 2, aux coefficient 0.001). */
function readMoe(json: Record<string, unknown>, modelType: string): MoeConfig {
  const num = (key: string, fallback: number): number => (typeof json[key] === 'number' ? json[key] : fallback)
  // jitter multiplies the router's input by uniform noise while training: a draw no other backend repeats
  const jitter = num('router_jitter_noise', 0)
  if (jitter !== 0) return fail('MoeJitterUnsupported', { path: 'router_jitter_noise', value: jitter }, modelType, jitter)
  return { numExperts: num('num_local_experts', 8), topK: num('num_experts_per_tok', 2), routerAuxLossCoef: num('router_aux_loss_coef', 0.001) }
}

/** `rope_parameters.rope_theta` (transformers 5's form), when config.json has it. */
function ropeParametersTheta(v: unknown): number | undefined {
  const theta = typeof v === 'object' && v !== null ? (v as { rope_theta?: unknown }).rope_theta : undefined
  return typeof theta === 'number' ? theta : undefined
}

/** What a family changes in the shared decoder: config.json defaults and qwen3's q/k norms. */
export interface DecoderDefaults {
  ropeTheta: number
  attentionBias: boolean
  /** Per-head RMSNorm of q and k (qwen3). */
  qkNorm?: true
  /** Gemma's embedding scale, (1 + w) norms and GeGLU MLP. */
  gemma?: true
  /** Gemma 2's soft-capping, pre/post feed-forward norms and alternating sliding window. */
  gemma2?: true
  /** Phi-3's fused `qkv_proj` / `gate_up_proj`; its rotary embeddings are plain (no scaling, full head width). */
  fusedProjections?: true
  /** Mixtral's sparse mixture of experts (num_local_experts, num_experts_per_tok, router_aux_loss_coef). */
  moe?: true
}

/** `partial_rotary_factor` at the top of config.json or inside rope_parameters, when given. */
function partialRotaryFactor(json: Record<string, unknown>): number | undefined {
  const inner = typeof json.rope_parameters === 'object' && json.rope_parameters !== null ? (json.rope_parameters as { partial_rotary_factor?: unknown }).partial_rotary_factor : undefined
  const v = json.partial_rotary_factor ?? inner
  return typeof v === 'number' ? v : undefined
}

/** Gemma 2's fields with Gemma2Config's defaults (layer_types: sliding on even layers). */
function readGemma2(json: Record<string, unknown>, layers: number): Gemma2Config {
  const cap = (key: string, fallback: number): number | null => (typeof json[key] === 'number' ? json[key] : json[key] === null ? null : fallback)
  const types = Array.isArray(json.layer_types) ? json.layer_types : undefined
  return {
    queryPreAttnScalar: typeof json.query_pre_attn_scalar === 'number' ? json.query_pre_attn_scalar : 256,
    attnLogitSoftcapping: cap('attn_logit_softcapping', 50),
    finalLogitSoftcapping: cap('final_logit_softcapping', 30),
    slidingLayers: Array.from({ length: layers }, (_, i) => (types ? types[i] === 'sliding_attention' : i % 2 === 0)),
  }
}

export function readDecoderConfig(json: Record<string, unknown>, modelType: string, defaults: DecoderDefaults): ModelConfig {
  const num = (key: string, fallback?: number): number => {
    const v = json[key]
    if (typeof v === 'number') return v
    if (fallback !== undefined) return fallback
    return fail('BadModelConfig', v === undefined ? { path: key } : { path: key, value: v }, key, modelType)
  }
  const heads = num('num_attention_heads')
  const hidden = num('hidden_size')
  const eos = json.eos_token_id
  const ropeScaling = readRopeScaling(json, modelType)
  // Phi3Config turns a yarn / su scaling into its own longrope, and rotates only a part of each head
  // with partial_rotary_factor < 1 (Phi-4-mini): neither is computed here, so both are refused
  if (defaults.fusedProjections && ropeScaling) return fail('UnsupportedRopeScaling', { path: 'rope_scaling.rope_type', value: ropeScaling.type }, modelType, ropeScaling.type, ['default'])
  const partial = partialRotaryFactor(json)
  if (partial !== undefined && partial !== 1) return fail('PartialRotaryUnsupported', { path: 'partial_rotary_factor', value: partial }, modelType, partial)
  return {
    modelType,
    vocabSize: num('vocab_size'),
    hiddenSize: hidden,
    intermediateSize: num('intermediate_size'),
    numHiddenLayers: num('num_hidden_layers'),
    numAttentionHeads: heads,
    numKeyValueHeads: num('num_key_value_heads', heads),
    headDim: num('head_dim', hidden / heads),
    maxPositionEmbeddings: num('max_position_embeddings', 2048),
    rmsNormEps: num('rms_norm_eps', 1e-6),
    // transformers 5 writes theta only inside rope_parameters
    ropeTheta: num('rope_theta', ropeParametersTheta(json.rope_parameters) ?? defaults.ropeTheta),
    ...(ropeScaling ? { ropeScaling } : {}),
    tieWordEmbeddings: json.tie_word_embeddings === true,
    slidingWindow: typeof json.sliding_window === 'number' && json.use_sliding_window !== false ? json.sliding_window : defaults.gemma2 && json.sliding_window === undefined ? 4096 : null,
    attentionBias: typeof json.attention_bias === 'boolean' ? json.attention_bias : defaults.attentionBias,
    ...(defaults.qkNorm ? { qkNorm: true } : {}),
    // transformers' GemmaConfig reads a legacy hidden_act "gelu" as gelu_pytorch_tanh too
    ...(defaults.gemma ? { gemma: true } : {}),
    ...(defaults.gemma2 ? { gemma2: readGemma2(json, num('num_hidden_layers')) } : {}),
    ...(defaults.fusedProjections ? { fusedProjections: true } : {}),
    ...(defaults.moe ? { moe: readMoe(json, modelType) } : {}),
    bosTokenId: typeof json.bos_token_id === 'number' ? json.bos_token_id : null,
    eosTokenId: typeof eos === 'number' ? eos : Array.isArray(eos) && typeof eos[0] === 'number' ? eos[0] : null,
  }
}

export function writeDecoderConfig(c: ModelConfig, architecture: string): Record<string, unknown> {
  return {
    architectures: [architecture],
    model_type: c.modelType,
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numHiddenLayers,
    num_attention_heads: c.numAttentionHeads,
    num_key_value_heads: c.numKeyValueHeads,
    head_dim: c.headDim,
    max_position_embeddings: c.maxPositionEmbeddings,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    ...(c.ropeScaling ? { rope_scaling: ropeScalingJson(c.ropeScaling) } : {}),
    tie_word_embeddings: c.tieWordEmbeddings,
    // Gemma 2 reads hidden_activation, the others hidden_act
    [c.gemma2 ? 'hidden_activation' : 'hidden_act']: c.gemma ? 'gelu_pytorch_tanh' : 'silu',
    ...(c.gemma2 ? {
      query_pre_attn_scalar: c.gemma2.queryPreAttnScalar,
      attn_logit_softcapping: c.gemma2.attnLogitSoftcapping,
      final_logit_softcapping: c.gemma2.finalLogitSoftcapping,
      layer_types: c.gemma2.slidingLayers.map((s) => (s ? 'sliding_attention' : 'full_attention')),
    } : {}),
    attention_bias: c.attentionBias,
    // Phi3Config's token ids default to its 32k vocabulary (pad / eos 32000): say none rather than those
    ...(c.fusedProjections ? { pad_token_id: null, bos_token_id: c.bosTokenId, eos_token_id: c.eosTokenId } : {}),
    ...(c.moe ? { num_local_experts: c.moe.numExperts, num_experts_per_tok: c.moe.topK, router_aux_loss_coef: c.moe.routerAuxLossCoef, router_jitter_noise: 0 } : {}),
    ...(c.slidingWindow !== null ? { sliding_window: c.slidingWindow } : {}),
    ...(c.bosTokenId !== null ? { bos_token_id: c.bosTokenId } : {}),
    ...(c.eosTokenId !== null ? { eos_token_id: c.eosTokenId } : {}),
    torch_dtype: 'float32',
  }
}

export function decoderLinearShape(c: ModelConfig, module: AnyDecoderLinear): readonly [number, number] {
  const h = c.hiddenSize
  const q = c.numAttentionHeads * c.headDim // query width
  const kv = c.numKeyValueHeads * c.headDim // key/value width (GQA)
  switch (module) {
    case 'q_proj': return [h, q]
    case 'k_proj': return [h, kv]
    case 'v_proj': return [h, kv]
    case 'o_proj': return [q, h]
    case 'gate_proj': return [h, c.intermediateSize]
    case 'up_proj': return [h, c.intermediateSize]
    case 'down_proj': return [c.intermediateSize, h]
    // phi-3: [q | k | v] and [gate | up] stacked along the output
    case 'qkv_proj': return [h, q + 2 * kv]
    case 'gate_up_proj': return [h, 2 * c.intermediateSize]
    // Mixtral: each expert's gate (w1), down (w2) and up (w3); the router maps hidden to one logit per expert
    case 'w1': return [h, c.intermediateSize]
    case 'w2': return [c.intermediateSize, h]
    case 'w3': return [h, c.intermediateSize]
    case 'gate': return [h, c.moe?.numExperts ?? 0]
  }
}

/** How many modules one name is in a layer: an expert projection is one per expert. */
const copiesOf = (c: ModelConfig, m: string): number => (c.moe && (m === 'w1' || m === 'w2' || m === 'w3') ? c.moe.numExperts : 1)

/** A bias on the module's output: qwen2's q/k/v (`attentionBias`). */
const hasBias = (c: ModelConfig, m: string): boolean => c.attentionBias && (m === 'q_proj' || m === 'k_proj' || m === 'v_proj' || m === 'qkv_proj')

export function makeDecoderFamily<M extends AnyDecoderLinear>(opts: {
  name: string
  /** config.json `model_type` when it is not `name` (yi's checkpoints say `llama`). */
  modelType?: string
  architecture: string
  defaults: DecoderDefaults
  /** The family's linear modules: `decoderLinear`, phi-3's fused `phi3Linear`, Mixtral's `attentionLinear`. */
  linearModules: readonly M[]
  /** Mixtral's expert and router names (`mixtralExperts`). */
  expertModules?: readonly M[]
  defaultTargetModules: readonly NoInfer<M>[]
  /** The family's chat template where the recipe leaves `data.template` out (FamilyInfo.defaultTemplate). */
  defaultTemplate: BuiltinTemplateName
  configTemplate?: FamilyInfo['configTemplate']
}): FamilyInfo<M, DecoderSaveable> {
  const linear = opts.linearModules
  const modelType = opts.modelType ?? opts.name
  const moduleParams = (c: ModelConfig, m: M | DecoderSaveable): number => {
    if (m === 'embed_tokens' || m === 'lm_head') return c.vocabSize * c.hiddenSize
    // the rm stage's reward head (stages/rm.ts adds it to the saved modules): Linear(hidden, 1)
    const name: string = m
    if (name === 'score') return c.hiddenSize
    const [i, o] = decoderLinearShape(c, m)
    return copiesOf(c, m) * (i * o + (hasBias(c, m) ? o : 0))
  }
  return {
    name: opts.name,
    ...(opts.modelType ? { modelType: opts.modelType } : {}),
    kind: 'decoder',
    architecture: opts.architecture,
    linearModules: linear,
    ...(opts.expertModules ? { expertModules: opts.expertModules } : {}),
    saveableModules: decoderSaveable,
    defaultTargetModules: opts.defaultTargetModules,
    defaultTemplate: opts.defaultTemplate,
    ...(opts.configTemplate ? { configTemplate: opts.configTemplate } : {}),
    readConfig: (json) => readDecoderConfig(json, modelType, opts.defaults),
    writeConfig: (c) => writeDecoderConfig(c, opts.architecture),
    linearShape: decoderLinearShape,
    linearShapes: (c, m) => Array.from({ length: copiesOf(c, m) }, () => decoderLinearShape(c, m)),
    moduleParams,
    totalParams: (c) => {
      // + 2 RMSNorm [hidden], + qwen3's q_norm / k_norm [head_dim]
      // Gemma 2: + pre / post feed-forward norms
      const norms = (c.gemma2 ? 4 : 2) * c.hiddenSize + (c.qkNorm ? 2 * c.headDim : 0)
      const perLayer = [...linear, ...(opts.expertModules ?? [])].reduce((sum, m) => sum + moduleParams(c, m), 0) + norms
      const embed = c.vocabSize * c.hiddenSize
      const head = c.tieWordEmbeddings ? 0 : embed
      return c.numHiddenLayers * perLayer + embed + head + c.hiddenSize // + final norm
    },
  }
}
