// LLaVA (transformers' LlavaForConditionalGeneration): CLIP vision tower → multi_modal_projector
// (linear_1, act, linear_2) → a llama / mistral language model. Module paths in transformers 5:
// model.vision_tower.*, model.multi_modal_projector.linear_1, model.language_model.layers.<i>.*.
import { fail } from '../errors/tunekit-error.ts'
import type { ModelConfig } from './types.ts'
import { readLlavaConfig, writeLlavaConfig } from './vision-config.ts'
import { makeVisionFamily, weightAndBias } from './vision-family.ts'

/** CLIP's encoder layer linears (q/k/v_proj share the decoder's names; LoRA on them adapts the language model only). */
export const clipTowerModules = ['q_proj', 'k_proj', 'v_proj', 'out_proj', 'fc1', 'fc2'] as const
export const llavaProjectorModules = ['linear_1', 'linear_2'] as const

const clip = (c: ModelConfig) => (c.vision?.kind === 'llava' ? c.vision : fail('BadModelConfig', { path: 'vision_config' }, 'vision_config', 'llava'))

/** CLIPVisionTransformer's parameters: embeddings (class, patch conv, positions), pre/post LayerNorm, the encoder layers. */
function clipParams(c: ModelConfig): number {
  const v = clip(c)
  const h = v.hiddenSize
  const positions = (v.imageSize / v.patchSize) ** 2 + 1
  const embeddings = h + h * v.numChannels * v.patchSize ** 2 + positions * h
  const layer = 4 * weightAndBias([h, h]) + weightAndBias([h, v.intermediateSize]) + weightAndBias([v.intermediateSize, h]) + 2 * 2 * h
  return embeddings + 2 * 2 * h + v.numHiddenLayers * layer
}

export const llavaFamily = makeVisionFamily({
  name: 'llava',
  architecture: 'LlavaForConditionalGeneration',
  // LLaVA-1.5's "USER: <image>\n… ASSISTANT:" (llava-hf/llava-1.5-7b-hf's chat_template)
  defaultTemplate: 'llava',
  defaults: { ropeTheta: 10000, attentionBias: false },
  readConfig: readLlavaConfig,
  writeConfig: writeLlavaConfig,
  towerModules: clipTowerModules,
  projectorModules: llavaProjectorModules,
  projectorShape: (c, m) => (m === 'linear_1' ? [clip(c).hiddenSize, c.hiddenSize] : [c.hiddenSize, c.hiddenSize]),
  projector: 'multi_modal_projector',
  towerPattern: '.*vision_tower.*',
  // CLIPEncoderLayer: q/k/v/out_proj [hidden, hidden], mlp.fc1 [hidden, intermediate], mlp.fc2 back
  towerLinearShape: (c, m) => (m === 'fc1' ? [clip(c).hiddenSize, clip(c).intermediateSize] : m === 'fc2' ? [clip(c).intermediateSize, clip(c).hiddenSize] : [clip(c).hiddenSize, clip(c).hiddenSize]),
  towerLayers: (c) => clip(c).numHiddenLayers,
  towerParams: clipParams,
})
