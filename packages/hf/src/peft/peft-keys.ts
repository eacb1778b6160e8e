// PEFT's tensor keys of IA³ and prompt-tuning adapters (a leaf: the layouts and their checks import it).
import { decoderModuleGroup } from '@tunekit/core'

/** PEFT's key of a module's IA³ vector (`k_proj`, layer 0 → `base_model.model.model.layers.0.self_attn.k_proj.ia3_l`). */
export function ia3Key(module: string, layer: number): string {
  return `base_model.model.model.layers.${layer}.${decoderModuleGroup(module)}.${module}.ia3_l`
}

/** PEFT's key of the virtual-token embeddings. */
export const PROMPT_EMBEDDINGS = 'prompt_embeddings'
