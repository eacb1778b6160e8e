// Prompt tuning's train artifact, PEFT's layout (PromptTuningConfig):
//   adapter_config.json        peft_type "PROMPT_TUNING", num_virtual_tokens, token_dim, task_type "CAUSAL_LM", …
//   adapter_model.safetensors  prompt_embeddings [num_virtual_tokens, hidden]
// Not mergeable: the virtual tokens are prepended to the input embeddings at every forward pass.
import type { PromptShape } from './types.ts'
import { readPeftAdapter, writePeftAdapter } from './peft-adapter.ts'
import type { MethodLayout, ReadArtifact } from './types.ts'

export { PROMPT_EMBEDDINGS } from './peft-keys.ts'

/**
 * adapter_config.json as PEFT's PromptTuningConfig writes it. `inference_mode: true`: PEFT then
 * skips the TEXT init (which would load `tokenizer_name_or_path`) and takes the saved embeddings.
 */
export function promptTuningConfigJson(m: { numVirtualTokens: number; promptTuningInit: 'RANDOM' | 'TEXT'; promptTuningInitText?: string | undefined }, shape: PromptShape, baseModel: string | null, revision: string | null = null): Record<string, unknown> {
  return {
    base_model_name_or_path: baseModel,
    inference_mode: true,
    num_attention_heads: shape.numAttentionHeads,
    num_layers: shape.numHiddenLayers,
    num_transformer_submodules: 1,
    num_virtual_tokens: m.numVirtualTokens,
    peft_type: 'PROMPT_TUNING',
    prompt_tuning_init: m.promptTuningInit,
    prompt_tuning_init_text: m.promptTuningInitText ?? null,
    ...(revision !== null ? { revision } : {}),
    task_type: 'CAUSAL_LM',
    token_dim: shape.hiddenSize,
    tokenizer_name_or_path: m.promptTuningInit === 'TEXT' ? baseModel : null,
  }
}

export const promptTuning = {
  files: ['adapter_config.json', 'adapter_model.safetensors'],
  write: (dir, a) => writePeftAdapter(dir, promptTuningConfigJson(a.method, a.method.shape, a.baseModel, a.revision ?? null), a.tensors),
  read: async (dir, base): Promise<ReadArtifact | undefined> => {
    const found = await readPeftAdapter(dir, 'PROMPT_TUNING', base)
    if (!found) return undefined
    const j = found.json
    const text = typeof j.prompt_tuning_init_text === 'string' ? j.prompt_tuning_init_text : undefined
    return {
      method: { kind: 'prompt-tuning', numVirtualTokens: Number(j.num_virtual_tokens), promptTuningInit: j.prompt_tuning_init === 'TEXT' ? 'TEXT' : 'RANDOM', ...(text !== undefined ? { promptTuningInitText: text } : {}), shape: { hiddenSize: Number(j.token_dim), numAttentionHeads: Number(j.num_attention_heads), numHiddenLayers: Number(j.num_layers) } },
      tensors: found.tensors,
    }
  },
} satisfies MethodLayout<'prompt-tuning'>
