// The weights of a vision-language model in the names transformers 5.23's save_pretrained writes
// (and from_pretrained loads with no missing or unexpected key: test/model/vision-random.test.ts),
// initialised as the other random weights are: linear / conv / embedding weights normal(0,
// initializer_range), biases 0, LayerNorm weights 1 and biases 0.
//   LLaVA: language_model.model.* and language_model.lm_head.weight (the llama decoder's names under
//   `language_model.`), multi_modal_projector.linear_1 / linear_2, vision_tower.* (CLIPVisionTransformer;
//   the Hub's llava-hf checkpoints store it under vision_tower.vision_model.*, an alias).
//   Qwen2-VL: the qwen2 decoder's own names (model.*, lm_head.weight), visual.patch_embed / blocks / merger.
import { fail, type LlavaVision, type ModelConfig, type Qwen2VlVision } from '@tunekit/core'
import { biasedLinear, layerNorm, type WeightSpec } from './weight-spec.ts'

/** The model's weights: `decoder` (the language model's, in a text model's names) placed and joined by the vision side. */
export function visionModelWeightSpecs(c: ModelConfig, decoder: WeightSpec[]): WeightSpec[] {
  const v = c.vision ?? fail('BadModelConfig', { path: 'vision_config' }, 'vision_config', c.modelType)
  return v.kind === 'llava' ? llavaWeightSpecs(c, v, decoder) : qwen2VlWeightSpecs(c, v, decoder)
}

function llavaWeightSpecs(c: ModelConfig, v: LlavaVision, decoder: WeightSpec[]): WeightSpec[] {
  const h = v.hiddenSize
  const tower = (name: string): string => `vision_tower.${name}`
  const specs: WeightSpec[] = decoder.map((s) => ({ ...s, name: `language_model.${s.name}` }))
  const projector = (path: string, inF: number, outF: number): WeightSpec[] => (v.projectorBias ? biasedLinear(path, inF, outF) : [{ name: `${path}.weight`, shape: [outF, inF], init: 'normal' }])
  specs.push(...projector('multi_modal_projector.linear_1', h, c.hiddenSize), ...projector('multi_modal_projector.linear_2', c.hiddenSize, c.hiddenSize))
  const positions = (v.imageSize / v.patchSize) ** 2 + 1 // + the CLS position
  const clip: WeightSpec[] = [
    { name: tower('embeddings.class_embedding'), shape: [h], init: 'normal' },
    { name: tower('embeddings.patch_embedding.weight'), shape: [h, v.numChannels, v.patchSize, v.patchSize], init: 'normal' }, // Conv2d, no bias
    { name: tower('embeddings.position_embedding.weight'), shape: [positions, h], init: 'normal' },
    ...layerNorm(tower('pre_layrnorm'), h), // transformers' spelling
  ]
  for (let i = 0; i < v.numHiddenLayers; i++) {
    const p = tower(`encoder.layers.${i}`)
    for (const m of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) clip.push(...biasedLinear(`${p}.self_attn.${m}`, h, h))
    clip.push(...layerNorm(`${p}.layer_norm1`, h), ...biasedLinear(`${p}.mlp.fc1`, h, v.intermediateSize), ...biasedLinear(`${p}.mlp.fc2`, v.intermediateSize, h), ...layerNorm(`${p}.layer_norm2`, h))
  }
  clip.push(...layerNorm(tower('post_layernorm'), h))
  return [...specs, ...clip.map((s) => ({ ...s, aliases: [s.name.replace(/^vision_tower\./, 'vision_tower.vision_model.')] }))]
}

function qwen2VlWeightSpecs(c: ModelConfig, v: Qwen2VlVision, decoder: WeightSpec[]): WeightSpec[] {
  const e = v.hiddenSize
  const mlp = e * v.mlpRatio
  const merged = e * v.spatialMergeSize ** 2
  const specs: WeightSpec[] = [...decoder, { name: 'visual.patch_embed.proj.weight', shape: [e, v.numChannels, v.temporalPatchSize, v.patchSize, v.patchSize], init: 'normal' }] // Conv3d, no bias
  for (let i = 0; i < v.numHiddenLayers; i++) {
    const p = `visual.blocks.${i}`
    specs.push(...layerNorm(`${p}.norm1`, e), ...layerNorm(`${p}.norm2`, e), ...biasedLinear(`${p}.attn.qkv`, e, 3 * e), ...biasedLinear(`${p}.attn.proj`, e, e))
    specs.push(...biasedLinear(`${p}.mlp.fc1`, e, mlp), ...biasedLinear(`${p}.mlp.fc2`, mlp, e))
  }
  specs.push(...layerNorm('visual.merger.ln_q', e), ...biasedLinear('visual.merger.mlp.0', merged, merged), ...biasedLinear('visual.merger.mlp.2', merged, c.hiddenSize))
  return specs
}
