// The tiny vision-language models the vision tests train: a random LLaVA (CLIP tower 28 px, patch
// 7, hidden 32, 2 layers; a 2-layer llama) and a random Qwen2-VL of the same widths, both on the
// 322-token test tokenizer, to which the model node adds their image tokens.
import { createRandomModel, randomModelConfig } from '@tunekit/hf'
import { tinyTokenizer } from '../data/helpers.ts'

/** `model.random.config` of the tiny LLaVA (dotted keys set its sub-configs). */
export const tinyLlavaConfig = {
  'text_config.vocab_size': 322, 'text_config.hidden_size': 32, 'text_config.intermediate_size': 64, 'text_config.num_hidden_layers': 2,
  'text_config.num_attention_heads': 2, 'text_config.num_key_value_heads': 2, 'text_config.max_position_embeddings': 256,
  'vision_config.hidden_size': 32, 'vision_config.intermediate_size': 64, 'vision_config.num_hidden_layers': 2, 'vision_config.num_attention_heads': 2,
  'vision_config.image_size': 28, 'vision_config.patch_size': 7, 'vision_config.projection_dim': 32,
}

export const tinyQwen2VlConfig = {
  'text_config.vocab_size': 322, 'text_config.hidden_size': 32, 'text_config.intermediate_size': 64, 'text_config.num_hidden_layers': 2,
  'text_config.num_attention_heads': 2, 'text_config.num_key_value_heads': 1, 'text_config.max_position_embeddings': 256,
  // M-RoPE's (time, height, width) split of head_dim 16's 8 frequencies
  'text_config.rope_parameters.mrope_section': [2, 3, 3],
  'vision_config.embed_dim': 32, 'vision_config.hidden_size': 32, 'vision_config.depth': 2, 'vision_config.num_heads': 2, 'vision_config.mlp_ratio': 2,
  'vision_config.patch_size': 7, 'vision_config.spatial_merge_size': 2, 'vision_config.temporal_patch_size': 2,
}

/** Writes the tiny model of `family` into `dir` as the model node does. */
export async function tinyVisionModel(dir: string, family: 'llava' | 'qwen2_vl', seed = 0): Promise<string> {
  const id = family === 'llava' ? 'llava-hf/llava-1.5-7b-hf' : 'Qwen/Qwen2-VL-2B-Instruct'
  const config = randomModelConfig({ id, family, random: { seed, tokenizer: tinyTokenizer, config: family === 'llava' ? tinyLlavaConfig : tinyQwen2VlConfig } })
  await createRandomModel(dir, { family, config, seed, tokenizer: tinyTokenizer })
  return dir
}
