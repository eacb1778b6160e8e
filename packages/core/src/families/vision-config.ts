// The config.json of a vision-language model (transformers' LlavaConfig, Qwen2VLConfig) read into
// a ModelConfig: the language model's numbers (its `text_config`, or Qwen2-VL's top level as the
// Hub checkpoints write it) with the vision tower, projector and image tokens in `vision`.
import { fail } from '../errors/tunekit-error.ts'
import { readDecoderConfig, writeDecoderConfig, type DecoderDefaults } from './decoder.ts'
import type { LlavaVision, ModelConfig, Qwen2VlVision, VisionConfig } from './types.ts'

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** A number field of a sub-config (`vision_config.hidden_size`), its default, or BadModelConfig naming the dotted path. */
function numberOf(json: Record<string, unknown>, at: string, modelType: string) {
  return (key: string, fallback?: number): number => {
    const v = json[key]
    if (typeof v === 'number') return v
    if (fallback !== undefined && v === undefined) return fallback
    return fail('BadModelConfig', v === undefined ? { path: `${at}${key}` } : { path: `${at}${key}`, value: v }, `${at}${key}`, modelType)
  }
}

/** `vision_config` of config.json; BadModelConfig when it is missing. */
function visionJson(json: Record<string, unknown>, modelType: string): Record<string, unknown> {
  return isObject(json.vision_config) ? json.vision_config : fail('BadModelConfig', { path: 'vision_config' }, 'vision_config', modelType)
}

/** LlavaConfig: `text_config` (llama / mistral), `vision_config` (CLIP), the projector and the image token. */
export function readLlavaConfig(json: Record<string, unknown>): ModelConfig {
  const text = isObject(json.text_config) ? json.text_config : fail('BadModelConfig', { path: 'text_config' }, 'text_config', 'llava')
  const defaults: DecoderDefaults = { ropeTheta: 10000, attentionBias: false }
  const config = readDecoderConfig(text, 'llava', defaults)
  return { ...config, vision: readLlavaVision(json) }
}

/** LlavaConfig's vision side: `vision_config` (CLIP), the projector and the image token (the one reader of these fields). */
export function readLlavaVision(json: Record<string, unknown>): LlavaVision {
  const text = isObject(json.text_config) ? json.text_config : {}
  const textModelType = typeof text.model_type === 'string' ? text.model_type : 'llama'
  const v = numberOf(visionJson(json, 'llava'), 'vision_config.', 'llava')
  const top = numberOf(json, '', 'llava')
  const layer = json.vision_feature_layer ?? -2
  // several feature layers (LLaVA-NeXT variants) concatenate hidden states: a wider linear_1 not modelled here
  if (typeof layer !== 'number') return fail('BadModelConfig', { path: 'vision_feature_layer', value: layer }, 'vision_feature_layer', 'llava')
  const strategy = json.vision_feature_select_strategy ?? 'default'
  if (strategy !== 'default' && strategy !== 'full') return fail('BadModelConfig', { path: 'vision_feature_select_strategy', value: strategy }, 'vision_feature_select_strategy', 'llava')
  const vision: LlavaVision = {
    kind: 'llava',
    textModelType,
    hiddenSize: v('hidden_size', 768),
    intermediateSize: v('intermediate_size', 3072),
    numHiddenLayers: v('num_hidden_layers', 12),
    numAttentionHeads: v('num_attention_heads', 12),
    imageSize: v('image_size', 224),
    patchSize: v('patch_size', 32),
    numChannels: v('num_channels', 3),
    layerNormEps: v('layer_norm_eps', 1e-5),
    projectionDim: v('projection_dim', 512),
    imageTokenId: top('image_token_index', typeof json.image_token_id === 'number' ? json.image_token_id : 32000),
    projectorHiddenAct: typeof json.projector_hidden_act === 'string' ? json.projector_hidden_act : 'gelu',
    projectorBias: json.multimodal_projector_bias !== false,
    featureLayer: layer,
    featureSelectStrategy: strategy,
  }
  return vision
}

export function writeLlavaConfig(c: ModelConfig): Record<string, unknown> {
  const v = c.vision?.kind === 'llava' ? c.vision : fail('BadModelConfig', { path: 'vision_config' }, 'vision_config', 'llava')
  const { architectures: _a, torch_dtype: _t, ...text } = writeDecoderConfig(c, 'LlamaForCausalLM')
  return {
    architectures: ['LlavaForConditionalGeneration'],
    model_type: 'llava',
    text_config: { ...text, model_type: v.textModelType, rope_parameters: { rope_type: 'default', ...(isObject(text.rope_scaling) ? text.rope_scaling : {}), rope_theta: text.rope_theta } },
    vision_config: {
      model_type: 'clip_vision_model',
      hidden_size: v.hiddenSize,
      intermediate_size: v.intermediateSize,
      num_hidden_layers: v.numHiddenLayers,
      num_attention_heads: v.numAttentionHeads,
      image_size: v.imageSize,
      patch_size: v.patchSize,
      num_channels: v.numChannels,
      layer_norm_eps: v.layerNormEps,
      projection_dim: v.projectionDim,
      hidden_act: 'quick_gelu',
    },
    image_token_index: v.imageTokenId,
    image_seq_length: llavaImageTokens(v),
    projector_hidden_act: v.projectorHiddenAct,
    multimodal_projector_bias: v.projectorBias,
    vision_feature_layer: v.featureLayer,
    vision_feature_select_strategy: v.featureSelectStrategy,
    tie_word_embeddings: c.tieWordEmbeddings,
    torch_dtype: 'float32',
  }
}

/** Image tokens one LLaVA image expands to: (image / patch)² patches, + the CLS position with strategy `full`. */
export const llavaImageTokens = (v: LlavaVision): number => (v.imageSize / v.patchSize) ** 2 + (v.featureSelectStrategy === 'full' ? 1 : 0)

/** Qwen2-VL's M-RoPE section from `rope_scaling` / `rope_parameters` (type `mrope`), and the dict without it for the decoder reader. */
function mrope(text: Record<string, unknown>): { section: number[]; rest: Record<string, unknown> } {
  const rest = { ...text }
  let section: number[] = []
  for (const key of ['rope_scaling', 'rope_parameters'] as const) {
    const d = text[key]
    if (!isObject(d)) continue
    if (Array.isArray(d.mrope_section)) section = d.mrope_section.map(Number)
    // `type: mrope` is Qwen2-VL's 3-D positions, not a frequency scaling: the decoder reader sees plain rope
    const { type: _type, mrope_section: _s, ...plain } = d
    rest[key] = d.type === 'mrope' && plain.rope_type === undefined ? { ...plain, rope_type: 'default' } : plain
  }
  return { section, rest }
}

/** Qwen2VLConfig: the qwen2 decoder at the top level (Hub checkpoints) or in `text_config` (transformers 5), `vision_config`, the vision tokens. */
export function readQwen2VlConfig(json: Record<string, unknown>): ModelConfig {
  const merged = isObject(json.text_config) ? { ...json, ...json.text_config } : json
  const { section, rest } = mrope(merged)
  const config = readDecoderConfig(rest, 'qwen2_vl', { ropeTheta: 1_000_000, attentionBias: true })
  const half = config.headDim / 2
  if (section.reduce((a, b) => a + b, 0) !== half) return fail('BadModelConfig', { path: 'rope_scaling.mrope_section', value: section }, 'rope_scaling.mrope_section', 'qwen2_vl')
  return { ...config, vision: readQwen2VlVision(json) }
}

/** Qwen2VLConfig's vision side: `vision_config` (the ViT and merger), the vision tokens and the M-RoPE section (the one reader of these fields). */
export function readQwen2VlVision(json: Record<string, unknown>): Qwen2VlVision {
  const merged = isObject(json.text_config) ? { ...json, ...json.text_config } : json
  const { section } = mrope(merged)
  const v = numberOf(visionJson(json, 'qwen2_vl'), 'vision_config.', 'qwen2_vl')
  const top = numberOf(merged, '', 'qwen2_vl')
  const vision: Qwen2VlVision = {
    kind: 'qwen2_vl',
    hiddenSize: v('embed_dim', 1280),
    numHiddenLayers: v('depth', 32),
    numAttentionHeads: v('num_heads', 16),
    mlpRatio: v('mlp_ratio', 4),
    patchSize: v('patch_size', 14),
    temporalPatchSize: v('temporal_patch_size', 2),
    spatialMergeSize: v('spatial_merge_size', 2),
    numChannels: v('in_channels', v('in_chans', 3)),
    imageTokenId: top('image_token_id', 151655),
    visionStartTokenId: top('vision_start_token_id', 151652),
    visionEndTokenId: top('vision_end_token_id', 151653),
    videoTokenId: top('video_token_id', 151656),
    mropeSection: section,
  }
  return vision
}

const visionReaders: Record<string, (json: Record<string, unknown>) => VisionConfig> = { llava: readLlavaVision, qwen2_vl: readQwen2VlVision }

/**
 * The vision side of a config.json whose `model_type` is a vision-language family's (llava,
 * qwen2_vl), read as the family reads it; undefined for any other model. Bad fields are
 * BadModelConfig (TK310), as the family's reader reports them.
 */
export function visionConfigOf(json: Record<string, unknown>): VisionConfig | undefined {
  return visionReaders[String(json.model_type)]?.(json)
}

/**
 * Image tokens one image takes in the text: LLaVA's fixed (image / patch)² (+ CLS), as
 * llavaImageTokens; Qwen2-VL's grid t·h·w over the merge window (spatial_merge_size²), not counting
 * `<|vision_start|>` / `<|vision_end|>`.
 */
export function imageTokenCount(v: VisionConfig, gridThw?: readonly number[]): number {
  if (v.kind === 'llava') return llavaImageTokens(v)
  // every preprocessed Qwen2-VL image has its grid: a missing one is a caller's bug, not the user's
  if (!gridThw) throw new Error('imageTokenCount: a Qwen2-VL image needs its image_grid_thw')
  return gridThw.reduce((n, d) => n * d, 1) / v.spatialMergeSize ** 2
}

export function writeQwen2VlConfig(c: ModelConfig): Record<string, unknown> {
  const v = c.vision?.kind === 'qwen2_vl' ? c.vision : fail('BadModelConfig', { path: 'vision_config' }, 'vision_config', 'qwen2_vl')
  const { architectures: _a, torch_dtype: _t, rope_theta: theta, ...text } = writeDecoderConfig(c, 'Qwen2ForCausalLM')
  return {
    architectures: ['Qwen2VLForConditionalGeneration'],
    model_type: 'qwen2_vl',
    text_config: { ...text, model_type: 'qwen2_vl_text', rope_parameters: { rope_type: 'default', type: 'mrope', rope_theta: theta, mrope_section: v.mropeSection } },
    vision_config: {
      model_type: 'qwen2_vl_vision',
      embed_dim: v.hiddenSize,
      depth: v.numHiddenLayers,
      num_heads: v.numAttentionHeads,
      mlp_ratio: v.mlpRatio,
      hidden_size: c.hiddenSize,
      patch_size: v.patchSize,
      temporal_patch_size: v.temporalPatchSize,
      spatial_merge_size: v.spatialMergeSize,
      in_channels: v.numChannels,
      hidden_act: 'quick_gelu',
    },
    image_token_id: v.imageTokenId,
    vision_start_token_id: v.visionStartTokenId,
    vision_end_token_id: v.visionEndTokenId,
    video_token_id: v.videoTokenId,
    tie_word_embeddings: c.tieWordEmbeddings,
    torch_dtype: 'float32',
  }
}

/** A vision token: its text in the tokenizer and its id in config.json. */
export interface VisionToken {
  content: string
  id: number
  /** Where config.json keeps the id (`image_token_index`, `vision_start_token_id`, …). */
  field: string
}

/**
 * The special tokens a model's image placeholders expand to, with their config.json ids: LLaVA's
 * `<image>` (× image tokens); Qwen2-VL's `<|vision_start|>` `<|image_pad|>` (× image tokens)
 * `<|vision_end|>`, and `<|video_pad|>`, as Qwen2VLProcessor spells them.
 */
export function visionTokens(v: VisionConfig): VisionToken[] {
  if (v.kind === 'llava') return [{ content: '<image>', id: v.imageTokenId, field: 'image_token_index' }]
  return [
    { content: '<|vision_start|>', id: v.visionStartTokenId, field: 'vision_start_token_id' },
    { content: '<|vision_end|>', id: v.visionEndTokenId, field: 'vision_end_token_id' },
    { content: '<|image_pad|>', id: v.imageTokenId, field: 'image_token_id' },
    { content: '<|video_pad|>', id: v.videoTokenId, field: 'video_token_id' },
  ]
}
