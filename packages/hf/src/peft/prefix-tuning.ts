// Prefix tuning's train artifact, PEFT's layout (PrefixTuningConfig):
//   adapter_config.json        peft_type "PREFIX_TUNING", prefix_projection, encoder_hidden_size,
//                              token_dim = headDim · kv heads and num_attention_heads = kv heads (PEFT's
//                              grouped-query rule), num_layers, num_virtual_tokens, …
//   adapter_model.safetensors  prompt_embeddings [num_virtual_tokens, num_layers · 2 · token_dim]: the
//                              prefix itself (the projection MLP's output when prefix_projection is set)
// Along the last axis: layer 0's keys, layer 0's values, layer 1's keys, … each [kvHeads, headDim]
// (PEFT views it as [n, layers · 2, heads, headDim]). A checkpoint adds the projection's tensors
// under PEFT's parameter names (`prompt_encoder.default.…`).
import { prefixEncoderWidth, prefixKvDim, type ModelConfig, type PrefixTuningOptions } from '@tunekit/core'
import { readPeftAdapter, writePeftAdapter } from './peft-adapter.ts'
import type { MethodLayout, PrefixShape, ReadArtifact, TrainedMethod } from './types.ts'

/** What a prefix-tuning artifact records on this model: PEFT's grouped-query token_dim and heads, the encoder width resolved. */
export function prefixTrained(m: PrefixTuningOptions, c: ModelConfig): Extract<TrainedMethod, { kind: 'prefix-tuning' }> {
  const { kind: _kind, ...options } = m
  return { kind: 'prefix-tuning', ...options, encoderHiddenSize: prefixEncoderWidth(m, c), shape: { tokenDim: prefixKvDim(c), numAttentionHeads: c.numKeyValueHeads, numHiddenLayers: c.numHiddenLayers } }
}

/** adapter_config.json as PEFT's PrefixTuningConfig writes it (the fields PEFT ≥ 0.6 knows). */
export function prefixTuningConfigJson(m: Omit<Extract<TrainedMethod, { kind: 'prefix-tuning' }>, 'kind' | 'shape'>, shape: PrefixShape, baseModel: string | null, revision: string | null = null): Record<string, unknown> {
  return {
    base_model_name_or_path: baseModel,
    encoder_hidden_size: m.encoderHiddenSize,
    inference_mode: true,
    num_attention_heads: shape.numAttentionHeads,
    num_layers: shape.numHiddenLayers,
    num_transformer_submodules: 1,
    num_virtual_tokens: m.numVirtualTokens,
    peft_type: 'PREFIX_TUNING',
    prefix_projection: m.prefixProjection,
    ...(revision !== null ? { revision } : {}),
    task_type: 'CAUSAL_LM',
    token_dim: shape.tokenDim,
  }
}

export const prefixTuning = {
  files: ['adapter_config.json', 'adapter_model.safetensors'],
  write: (dir, a) => writePeftAdapter(dir, prefixTuningConfigJson(a.method, a.method.shape, a.baseModel, a.revision ?? null), a.tensors),
  read: async (dir, base): Promise<ReadArtifact | undefined> => {
    const found = await readPeftAdapter(dir, 'PREFIX_TUNING', base)
    if (!found) return undefined
    const j = found.json
    return {
      method: {
        kind: 'prefix-tuning',
        numVirtualTokens: Number(j.num_virtual_tokens),
        prefixProjection: j.prefix_projection === true,
        encoderHiddenSize: Number(j.encoder_hidden_size),
        shape: { tokenDim: Number(j.token_dim), numAttentionHeads: Number(j.num_attention_heads), numHiddenLayers: Number(j.num_layers) },
      },
      tensors: found.tensors,
    }
  },
} satisfies MethodLayout<'prefix-tuning'>
