import { readBertConfig } from './bert.ts'
import type { Family } from './index.ts'
import type { BuiltinTemplateName } from '../schema/template-names.ts'
import type { ModelConfig } from './types.ts'
import { readLlavaConfig, readQwen2VlConfig } from './vision-config.ts'

/** A checkpoint whose config numbers tunekit knows, so it can plan without downloading anything. */
export interface KnownCheckpoint {
  id: string
  family: Family
  config: ModelConfig
  /** Parameters as published, for checking the registry's counting. */
  publishedParams: number
  /**
   * The built-in template that renders as its tokenizer_config.json's `chat_template` does, for a
   * chat / instruct checkpoint: what a recipe on it gets where it leaves `data.template` out
   * (families/default-template.ts). Absent for base checkpoints, which get their family's.
   */
  chatTemplate?: BuiltinTemplateName
}

/**
 * A chat / instruct checkpoint whose config.json numbers are its base's (same shapes, same count),
 * with the template its tokenizer_config.json's chat_template is.
 */
const chatOf = (base: KnownCheckpoint, id: string, chatTemplate: BuiltinTemplateName, config: Partial<ModelConfig> = {}): KnownCheckpoint =>
  ({ ...base, id, chatTemplate, config: { ...base.config, ...config } })

const decoder = (c: Partial<ModelConfig> & Pick<ModelConfig, 'modelType' | 'vocabSize' | 'hiddenSize' | 'intermediateSize' | 'numHiddenLayers' | 'numAttentionHeads'>): ModelConfig => ({
  numKeyValueHeads: c.numAttentionHeads,
  headDim: c.hiddenSize / c.numAttentionHeads,
  maxPositionEmbeddings: 4096,
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
  tieWordEmbeddings: false,
  slidingWindow: null,
  attentionBias: false,
  bosTokenId: 1,
  eosTokenId: 2,
  ...c,
})

/** bert-base-uncased's config.json (its Hub id and the old short name both name it). */
function bertBaseUncased(id: string): KnownCheckpoint {
  const config = readBertConfig({
    vocab_size: 30522, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072,
    hidden_act: 'gelu', max_position_embeddings: 512, type_vocab_size: 2, layer_norm_eps: 1e-12, pad_token_id: 0,
  })
  return { id, family: 'bert', publishedParams: 108_893_186, config }
}

/** llava-hf/llava-1.5-7b-hf's config.json: Vicuna-7B (llama, 32064 tokens with `<image>` and padding) behind CLIP ViT-L/14 at 336 px. */
const llava15 = readLlavaConfig({
  model_type: 'llava', image_token_index: 32000, projector_hidden_act: 'gelu', vision_feature_layer: -2, vision_feature_select_strategy: 'default',
  text_config: { model_type: 'llama', vocab_size: 32064, hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 32, max_position_embeddings: 4096, rms_norm_eps: 1e-5, bos_token_id: 1, eos_token_id: 2 },
  vision_config: { hidden_size: 1024, intermediate_size: 4096, num_hidden_layers: 24, num_attention_heads: 16, image_size: 336, patch_size: 14, projection_dim: 768 },
})

/** Qwen2-VL's config.json fields both sizes share (the vision tower, tokens, M-RoPE). */
const qwen2Vl = (text: Record<string, unknown>): ModelConfig => readQwen2VlConfig({
  model_type: 'qwen2_vl', max_position_embeddings: 32768, rms_norm_eps: 1e-6, rope_theta: 1_000_000, bos_token_id: 151643, eos_token_id: 151645,
  image_token_id: 151655, video_token_id: 151656, vision_start_token_id: 151652, vision_end_token_id: 151653,
  rope_scaling: { type: 'mrope', mrope_section: [16, 24, 24] },
  ...text,
  vision_config: { depth: 32, embed_dim: 1280, mlp_ratio: 4, num_heads: 16, in_chans: 3, hidden_size: text.hidden_size, patch_size: 14, spatial_merge_size: 2, temporal_patch_size: 2 },
})

/** Config numbers copied from each checkpoint's config.json. */
const baseCheckpoints: Record<string, KnownCheckpoint> = {
  'mistralai/Mistral-7B-v0.1': {
    id: 'mistralai/Mistral-7B-v0.1',
    family: 'mistral',
    publishedParams: 7_241_732_096,
    config: decoder({
      modelType: 'mistral', vocabSize: 32000, hiddenSize: 4096, intermediateSize: 14336, numHiddenLayers: 32,
      numAttentionHeads: 32, numKeyValueHeads: 8, maxPositionEmbeddings: 32768, slidingWindow: 4096,
    }),
  },
  'meta-llama/Llama-2-7b-hf': {
    id: 'meta-llama/Llama-2-7b-hf',
    family: 'llama',
    publishedParams: 6_738_415_616,
    config: decoder({
      modelType: 'llama', vocabSize: 32000, hiddenSize: 4096, intermediateSize: 11008, numHiddenLayers: 32,
      numAttentionHeads: 32, maxPositionEmbeddings: 4096,
    }),
  },
  'meta-llama/Llama-3.2-1B': {
    id: 'meta-llama/Llama-3.2-1B',
    family: 'llama',
    publishedParams: 1_235_814_400,
    config: decoder({
      modelType: 'llama', vocabSize: 128256, hiddenSize: 2048, intermediateSize: 8192, numHiddenLayers: 16,
      numAttentionHeads: 32, numKeyValueHeads: 8, headDim: 64, maxPositionEmbeddings: 131072, ropeTheta: 500_000,
      ropeScaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 },
      tieWordEmbeddings: true, bosTokenId: 128000, eosTokenId: 128001,
    }),
  },
  'Qwen/Qwen2-0.5B': {
    id: 'Qwen/Qwen2-0.5B',
    family: 'qwen2',
    publishedParams: 494_032_768,
    config: decoder({
      modelType: 'qwen2', vocabSize: 151936, hiddenSize: 896, intermediateSize: 4864, numHiddenLayers: 24,
      numAttentionHeads: 14, numKeyValueHeads: 2, maxPositionEmbeddings: 131072, rmsNormEps: 1e-6,
      ropeTheta: 1_000_000, tieWordEmbeddings: true, attentionBias: true, bosTokenId: null, eosTokenId: 151643,
    }),
  },
  // Tied: named_parameters() counts the embedding once; the Hub's safetensors count (751,632,384)
  // adds the lm_head copy the file stores. Non-embedding: 440,467,456, the model card's 0.44B.
  'Qwen/Qwen3-0.6B': {
    id: 'Qwen/Qwen3-0.6B',
    family: 'qwen3',
    publishedParams: 596_049_920,
    config: decoder({
      modelType: 'qwen3', vocabSize: 151936, hiddenSize: 1024, intermediateSize: 3072, numHiddenLayers: 28,
      numAttentionHeads: 16, numKeyValueHeads: 8, headDim: 128, maxPositionEmbeddings: 40960, rmsNormEps: 1e-6,
      ropeTheta: 1_000_000, tieWordEmbeddings: true, qkNorm: true, bosTokenId: 151643, eosTokenId: 151645,
    }),
  },
  'google/gemma-2b': {
    id: 'google/gemma-2b',
    family: 'gemma',
    publishedParams: 2_506_172_416,
    config: decoder({
      modelType: 'gemma', vocabSize: 256000, hiddenSize: 2048, intermediateSize: 16384, numHiddenLayers: 18,
      numAttentionHeads: 8, numKeyValueHeads: 1, headDim: 256, maxPositionEmbeddings: 8192, rmsNormEps: 1e-6,
      tieWordEmbeddings: true, gemma: true, bosTokenId: 2, eosTokenId: 1,
    }),
  },
  'google/gemma-2-2b': {
    id: 'google/gemma-2-2b',
    family: 'gemma2',
    publishedParams: 2_614_341_888,
    config: decoder({
      modelType: 'gemma2', vocabSize: 256000, hiddenSize: 2304, intermediateSize: 9216, numHiddenLayers: 26,
      numAttentionHeads: 8, numKeyValueHeads: 4, headDim: 256, maxPositionEmbeddings: 8192, rmsNormEps: 1e-6,
      slidingWindow: 4096, tieWordEmbeddings: true, gemma: true, bosTokenId: 2, eosTokenId: 1,
      gemma2: { queryPreAttnScalar: 256, attnLogitSoftcapping: 50, finalLogitSoftcapping: 30, slidingLayers: Array.from({ length: 26 }, (_, i) => i % 2 === 0) },
    }),
  },
  // Fused qkv_proj [3072 → 9216] and gate_up_proj [3072 → 16384]; sliding window 2047 as its config.json says.
  'microsoft/Phi-3-mini-4k-instruct': {
    id: 'microsoft/Phi-3-mini-4k-instruct',
    family: 'phi3',
    chatTemplate: 'phi-3',
    publishedParams: 3_821_079_552,
    config: decoder({
      modelType: 'phi3', vocabSize: 32064, hiddenSize: 3072, intermediateSize: 8192, numHiddenLayers: 32,
      numAttentionHeads: 32, maxPositionEmbeddings: 4096, slidingWindow: 2047, fusedProjections: true, eosTokenId: 32000,
    }),
  },
  // 8 experts of 3 × 4096 × 14336 per layer, top 2; the router 8 × 4096.
  'mistralai/Mixtral-8x7B-v0.1': {
    id: 'mistralai/Mixtral-8x7B-v0.1',
    family: 'mixtral',
    publishedParams: 46_702_792_704,
    config: decoder({
      modelType: 'mixtral', vocabSize: 32000, hiddenSize: 4096, intermediateSize: 14336, numHiddenLayers: 32,
      numAttentionHeads: 32, numKeyValueHeads: 8, maxPositionEmbeddings: 32768, ropeTheta: 1_000_000,
      moe: { numExperts: 8, topK: 2, routerAuxLossCoef: 0.02 },
    }),
  },
  // Yi's config.json is llama's (model_type llama): GQA 32 / 4, rope_theta 5e6, a 64k vocabulary.
  '01-ai/Yi-6B': {
    id: '01-ai/Yi-6B',
    family: 'yi',
    publishedParams: 6_061_035_520,
    config: decoder({
      modelType: 'llama', vocabSize: 64000, hiddenSize: 4096, intermediateSize: 11008, numHiddenLayers: 32,
      numAttentionHeads: 32, numKeyValueHeads: 4, maxPositionEmbeddings: 4096, ropeTheta: 5_000_000,
    }),
  },
  '01-ai/Yi-6B-Chat': {
    id: '01-ai/Yi-6B-Chat',
    family: 'yi',
    chatTemplate: 'chatml',
    publishedParams: 6_061_035_520,
    config: decoder({
      modelType: 'llama', vocabSize: 64000, hiddenSize: 4096, intermediateSize: 11008, numHiddenLayers: 32,
      numAttentionHeads: 32, numKeyValueHeads: 4, maxPositionEmbeddings: 4096, ropeTheta: 5_000_000,
    }),
  },
  // BertForQuestionAnswering's count: BertModel's published 109,482,240 without the pooler
  // (590,592) and with qa_outputs (1,538).
  'google-bert/bert-base-uncased': bertBaseUncased('google-bert/bert-base-uncased'),
  'bert-base-uncased': bertBaseUncased('bert-base-uncased'),
  // CLIP tower 303,507,456 + projector 20,979,712 + language model 6,738,939,904 (transformers' count)
  'llava-hf/llava-1.5-7b-hf': { id: 'llava-hf/llava-1.5-7b-hf', family: 'llava', chatTemplate: 'llava', publishedParams: 7_063_427_072, config: llava15 },
  'Qwen/Qwen2-VL-2B-Instruct': {
    id: 'Qwen/Qwen2-VL-2B-Instruct',
    family: 'qwen2_vl',
    chatTemplate: 'chatml',
    publishedParams: 2_208_985_600,
    config: qwen2Vl({ vocab_size: 151936, hidden_size: 1536, intermediate_size: 8960, num_hidden_layers: 28, num_attention_heads: 12, num_key_value_heads: 2, tie_word_embeddings: true }),
  },
  'Qwen/Qwen2-VL-7B-Instruct': {
    id: 'Qwen/Qwen2-VL-7B-Instruct',
    family: 'qwen2_vl',
    chatTemplate: 'chatml',
    publishedParams: 8_291_375_616,
    config: qwen2Vl({ vocab_size: 152064, hidden_size: 3584, intermediate_size: 18944, num_hidden_layers: 28, num_attention_heads: 28, num_key_value_heads: 4, tie_word_embeddings: false }),
  },
  /** A tiny Mistral-shaped test model on the real 32k Mistral vocabulary. */
  'tunekit/tiny-mistral': {
    id: 'tunekit/tiny-mistral',
    family: 'mistral',
    publishedParams: 0,
    config: decoder({
      modelType: 'mistral', vocabSize: 32000, hiddenSize: 64, intermediateSize: 128, numHiddenLayers: 2,
      numAttentionHeads: 4, numKeyValueHeads: 2, maxPositionEmbeddings: 2048, slidingWindow: 1024,
    }),
  },
}

// Chat / instruct checkpoints on their base's config numbers (eos lists and generation configs aside,
// which planning does not read), each with the built-in its tokenizer_config.json's chat_template is.
const b = baseCheckpoints
export const knownCheckpoints: Record<string, KnownCheckpoint> = {
  ...baseCheckpoints,
  'meta-llama/Llama-2-7b-chat-hf': chatOf(b['meta-llama/Llama-2-7b-hf']!, 'meta-llama/Llama-2-7b-chat-hf', 'llama-2'),
  'meta-llama/Llama-3.2-1B-Instruct': chatOf(b['meta-llama/Llama-3.2-1B']!, 'meta-llama/Llama-3.2-1B-Instruct', 'llama-3'),
  'mistralai/Mistral-7B-Instruct-v0.1': chatOf(b['mistralai/Mistral-7B-v0.1']!, 'mistralai/Mistral-7B-Instruct-v0.1', 'mistral-instruct'),
  'mistralai/Mixtral-8x7B-Instruct-v0.1': chatOf(b['mistralai/Mixtral-8x7B-v0.1']!, 'mistralai/Mixtral-8x7B-Instruct-v0.1', 'mistral-instruct'),
  'google/gemma-2b-it': chatOf(b['google/gemma-2b']!, 'google/gemma-2b-it', 'gemma'),
  'google/gemma-2-2b-it': chatOf(b['google/gemma-2-2b']!, 'google/gemma-2-2b-it', 'gemma'),
  'Qwen/Qwen2-0.5B-Instruct': chatOf(b['Qwen/Qwen2-0.5B']!, 'Qwen/Qwen2-0.5B-Instruct', 'chatml', { eosTokenId: 151645 }),
}
