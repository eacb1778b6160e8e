// Qwen2-VL (transformers' Qwen2VLForConditionalGeneration): a ViT over 3-D patches (model.visual.blocks.<i>:
// attn.qkv, attn.proj, mlp.fc1, mlp.fc2), the patch merger (model.visual.merger: ln_q, mlp.0, GELU,
// mlp.2) and a qwen2 decoder with M-RoPE (model.language_model.layers.<i>.*).
import { fail } from '../errors/tunekit-error.ts'
import type { ModelConfig } from './types.ts'
import { readQwen2VlConfig, writeQwen2VlConfig } from './vision-config.ts'
import { makeVisionFamily, weightAndBias } from './vision-family.ts'

export const qwen2VlTowerModules = ['qkv', 'proj', 'fc1', 'fc2'] as const
/** The merger's two linears as PEFT's suffix match names them. */
export const qwen2VlProjectorModules = ['mlp.0', 'mlp.2'] as const

const vit = (c: ModelConfig) => (c.vision?.kind === 'qwen2_vl' ? c.vision : fail('BadModelConfig', { path: 'vision_config' }, 'vision_config', 'qwen2_vl'))

/** The merger's input: merge² patches of the tower's width, concatenated. */
const mergedWidth = (c: ModelConfig): number => vit(c).hiddenSize * vit(c).spatialMergeSize ** 2

/** The tower's parameters: the patch Conv3d (no bias) and the blocks (the merger is the projector). */
function towerParams(c: ModelConfig): number {
  const v = vit(c)
  const e = v.hiddenSize
  const mlp = e * v.mlpRatio
  const patch = e * v.numChannels * v.temporalPatchSize * v.patchSize ** 2
  const block = 2 * 2 * e + weightAndBias([e, 3 * e]) + weightAndBias([e, e]) + weightAndBias([e, mlp]) + weightAndBias([mlp, e])
  return patch + v.numHiddenLayers * block
}

export const qwen2VlFamily = makeVisionFamily({
  name: 'qwen2_vl',
  architecture: 'Qwen2VLForConditionalGeneration',
  defaultTemplate: 'chatml',
  defaults: { ropeTheta: 1_000_000, attentionBias: true },
  readConfig: readQwen2VlConfig,
  writeConfig: writeQwen2VlConfig,
  towerModules: qwen2VlTowerModules,
  projectorModules: qwen2VlProjectorModules,
  projectorShape: (c, m) => (m === 'mlp.0' ? [mergedWidth(c), mergedWidth(c)] : [mergedWidth(c), c.hiddenSize]),
  projector: 'merger',
  towerPattern: '.*visual\\.(blocks|patch_embed).*',
  // the patch embedding's `proj` is a Conv3d, which `proj` would match too (LLaMA-Factory's lora_conflict_keys)
  towerConflictPattern: '.*visual\\.patch_embed.*',
  // Qwen2VLVisionBlock: attn.qkv [e, 3e], attn.proj [e, e], mlp.fc1 [e, e·mlp_ratio], mlp.fc2 back
  towerLinearShape: (c, m) => {
    const e = vit(c).hiddenSize
    const mlp = e * vit(c).mlpRatio
    return m === 'qkv' ? [e, 3 * e] : m === 'proj' ? [e, e] : m === 'fc1' ? [e, mlp] : [mlp, e]
  },
  towerLayers: (c) => vit(c).numHiddenLayers,
  towerParams,
  projectorExtraParams: (c) => 2 * vit(c).hiddenSize, // ln_q
})
