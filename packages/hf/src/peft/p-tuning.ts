// P-tuning's train artifact, PEFT's layout (PromptEncoderConfig):
//   adapter_config.json        peft_type "P_TUNING", encoder_* options, num_virtual_tokens, token_dim, …
//   adapter_model.safetensors  prompt_embeddings [num_virtual_tokens, hidden]: the prompt encoder's
//                              output (PEFT's get_prompt_embedding_to_save), not the encoder
// `inference_mode: true`: PEFT then builds only the embedding and loads the saved output into it.
// A checkpoint adds the encoder's own tensors under PEFT's parameter names (`prompt_encoder.default.…`)
// so training resumes; PEFT reads prompt_embeddings alone.
import { pTuningEncoderWidth, type ModelConfig, type PTuningOptions } from '@tunekit/core'
import { readPeftAdapter, writePeftAdapter } from './peft-adapter.ts'
import type { MethodLayout, PromptShape, ReadArtifact, TrainedMethod } from './types.ts'

/** What a P-tuning artifact records of the recipe's options on this model (the encoder width resolved as PEFT does). */
export function pTuningTrained(m: PTuningOptions, c: ModelConfig): Extract<TrainedMethod, { kind: 'p-tuning' }> {
  const { kind: _kind, ...options } = m
  const { hiddenSize, numAttentionHeads, numHiddenLayers } = c
  return { kind: 'p-tuning', ...options, encoderHiddenSize: pTuningEncoderWidth(m, hiddenSize), shape: { hiddenSize, numAttentionHeads, numHiddenLayers } }
}

/** adapter_config.json as PEFT's PromptEncoderConfig writes it (the fields PEFT ≥ 0.6 knows, keys sorted by the writer). */
export function pTuningConfigJson(m: Omit<Extract<TrainedMethod, { kind: 'p-tuning' }>, 'kind' | 'shape'>, shape: PromptShape, baseModel: string | null, revision: string | null = null): Record<string, unknown> {
  return {
    base_model_name_or_path: baseModel,
    encoder_dropout: m.encoderDropout,
    encoder_hidden_size: m.encoderHiddenSize,
    encoder_num_layers: m.encoderNumLayers,
    encoder_reparameterization_type: m.encoderReparameterizationType,
    inference_mode: true,
    num_attention_heads: shape.numAttentionHeads,
    num_layers: shape.numHiddenLayers,
    num_transformer_submodules: 1,
    num_virtual_tokens: m.numVirtualTokens,
    peft_type: 'P_TUNING',
    ...(revision !== null ? { revision } : {}),
    task_type: 'CAUSAL_LM',
    token_dim: shape.hiddenSize,
  }
}

export const pTuning = {
  files: ['adapter_config.json', 'adapter_model.safetensors'],
  write: (dir, a) => writePeftAdapter(dir, pTuningConfigJson(a.method, a.method.shape, a.baseModel, a.revision ?? null), a.tensors),
  read: async (dir, base): Promise<ReadArtifact | undefined> => {
    const found = await readPeftAdapter(dir, 'P_TUNING', base)
    if (!found) return undefined
    const j = found.json
    return {
      method: {
        kind: 'p-tuning',
        numVirtualTokens: Number(j.num_virtual_tokens),
        encoderReparameterizationType: j.encoder_reparameterization_type === 'LSTM' ? 'LSTM' : 'MLP',
        encoderHiddenSize: Number(j.encoder_hidden_size),
        encoderNumLayers: Number(j.encoder_num_layers),
        encoderDropout: Number(j.encoder_dropout),
        shape: { hiddenSize: Number(j.token_dim), numAttentionHeads: Number(j.num_attention_heads), numHiddenLayers: Number(j.num_layers) },
      },
      tensors: found.tensors,
    }
  },
} satisfies MethodLayout<'p-tuning'>
