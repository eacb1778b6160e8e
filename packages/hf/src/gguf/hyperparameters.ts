// The `<arch>.*` hyperparameters llama.cpp reads for its llama and qwen2 architectures, from the
// config.json numbers tunekit models (names as in llama.cpp's llama-arch.cpp LLM_KV_NAMES).
import type { ModelConfig } from '@tunekit/core'
import type { GgufArchitecture } from './tensor-names.ts'
import type { GgufValue } from './writer.ts'

const u32 = (value: number): GgufValue => ({ type: 'u32', value })
const f32 = (value: number): GgufValue => ({ type: 'f32', value })

export function hyperparameterMetadata(arch: GgufArchitecture, c: ModelConfig): Array<[string, GgufValue]> {
  const entries: Array<[string, GgufValue]> = [
    [`${arch}.context_length`, u32(c.maxPositionEmbeddings)],
    [`${arch}.embedding_length`, u32(c.hiddenSize)],
    [`${arch}.block_count`, u32(c.numHiddenLayers)],
    [`${arch}.feed_forward_length`, u32(c.intermediateSize)],
    [`${arch}.attention.head_count`, u32(c.numAttentionHeads)],
    [`${arch}.attention.head_count_kv`, u32(c.numKeyValueHeads)],
    [`${arch}.rope.freq_base`, f32(c.ropeTheta)],
    [`${arch}.attention.layer_norm_rms_epsilon`, f32(c.rmsNormEps)],
    [`${arch}.vocab_size`, u32(c.vocabSize)],
    // rotary width = head width (partial rotary is not a llama / mistral / qwen2 option)
    [`${arch}.rope.dimension_count`, u32(c.headDim)],
  ]
  if (c.headDim * c.numAttentionHeads !== c.hiddenSize) {
    // llama.cpp assumes head width = embedding / heads unless told
    entries.push([`${arch}.attention.key_length`, u32(c.headDim)], [`${arch}.attention.value_length`, u32(c.headDim)])
  }
  // Mistral's window, recorded for tools that read it; llama.cpp's llama architecture attends to
  // the whole context, which differs from training only past `slidingWindow` tokens.
  if (c.slidingWindow !== null) entries.push([`${arch}.attention.sliding_window`, u32(c.slidingWindow)])
  return entries
}
