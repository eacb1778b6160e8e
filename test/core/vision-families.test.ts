import { countTrainable, defineRecipe, families, inline, knownCheckpoints, methods, llavaImageTokens, modelConfigFromText, type ModuleName } from '@tunekit/core'
import { describe, expect, expectTypeOf, it } from 'vitest'

// LlavaForConditionalGeneration and Qwen2VLForConditionalGeneration as transformers 5.23's
// save_pretrained writes their config.json (tiny shapes: the figures below are transformers' own
// sum(p.numel() for p in model.parameters()) of these configs).
const tinyLlava = {
  architectures: ['LlavaForConditionalGeneration'], model_type: 'llava', image_token_index: 399, image_seq_length: 576, multimodal_projector_bias: true,
  projector_hidden_act: 'gelu', vision_feature_layer: -2, vision_feature_select_strategy: 'default', tie_word_embeddings: false,
  text_config: {
    model_type: 'llama', vocab_size: 400, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 2,
    head_dim: 16, max_position_embeddings: 2048, rms_norm_eps: 1e-6, rope_parameters: { rope_theta: 10000.0, rope_type: 'default' }, bos_token_id: 1, eos_token_id: 2, tie_word_embeddings: false,
  },
  vision_config: { model_type: 'clip_vision_model', hidden_act: 'quick_gelu', hidden_size: 32, image_size: 28, intermediate_size: 64, layer_norm_eps: 1e-5, num_attention_heads: 2, num_channels: 3, num_hidden_layers: 2, patch_size: 7, projection_dim: 32 },
}
const tinyQwen2Vl = {
  architectures: ['Qwen2VLForConditionalGeneration'], model_type: 'qwen2_vl', image_token_id: 399, video_token_id: 151656, vision_start_token_id: 397, vision_end_token_id: 398, tie_word_embeddings: false,
  text_config: {
    model_type: 'qwen2_vl_text', vocab_size: 400, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 32768,
    rms_norm_eps: 1e-5, rope_parameters: { mrope_section: [2, 3, 3], rope_theta: 1000000.0, rope_type: 'default', type: 'mrope' }, sliding_window: null, use_sliding_window: false,
  },
  vision_config: { model_type: 'qwen2_vl_vision', depth: 2, embed_dim: 32, hidden_size: 32, in_channels: 3, mlp_ratio: 2, num_heads: 2, patch_size: 7, spatial_merge_size: 2, temporal_patch_size: 2 },
}

describe('vision-language families', () => {
  it('reads transformers 5 configs: the language model from text_config, the tower, projector and image token in vision', () => {
    const llava = modelConfigFromText('config.json', JSON.stringify(tinyLlava))
    if (!llava.ok) throw new Error(JSON.stringify(llava.issues))
    expect(llava.value.family).toBe('llava')
    const c = llava.value.config
    expect([c.vocabSize, c.hiddenSize, c.numHiddenLayers, c.headDim]).toEqual([400, 32, 2, 16])
    expect(c.vision).toMatchObject({ kind: 'llava', textModelType: 'llama', hiddenSize: 32, imageSize: 28, patchSize: 7, imageTokenId: 399, featureLayer: -2 })
    // transformers: 70,848 parameters (tower 22,496 + projector 2,112 + language model 46,240)
    expect(families.llava.totalParams(c)).toBe(70_848)
    expect(families.llava.vision.towerParams(c)).toBe(22_496)
    expect(families.llava.moduleParams(c, 'multi_modal_projector')).toBe(2_112)
    if (c.vision?.kind === 'llava') expect(llavaImageTokens(c.vision)).toBe(16)
    const qwen = modelConfigFromText('config.json', JSON.stringify(tinyQwen2Vl))
    if (!qwen.ok) throw new Error(JSON.stringify(qwen.issues))
    expect(qwen.value.config.vision).toMatchObject({ kind: 'qwen2_vl', hiddenSize: 32, spatialMergeSize: 2, imageTokenId: 399, visionStartTokenId: 397, mropeSection: [2, 3, 3] })
    expect(qwen.value.config.attentionBias).toBe(true)
    // transformers: 91,520 parameters (tower 26,496, merger 20,704)
    expect(families.qwen2_vl.totalParams(qwen.value.config)).toBe(91_520)
    expect(families.qwen2_vl.vision.towerParams(qwen.value.config)).toBe(26_496)
    expect(families.qwen2_vl.moduleParams(qwen.value.config, 'merger')).toBe(20_704)
  })

  it('reads the Hub checkpoints\' Qwen2-VL form (decoder fields at the top, rope_scaling type mrope)', () => {
    const c = knownCheckpoints['Qwen/Qwen2-VL-2B-Instruct']!.config
    expect(c.vision).toMatchObject({ kind: 'qwen2_vl', mropeSection: [16, 24, 24], hiddenSize: 1280, numHiddenLayers: 32 })
    expect(c.ropeScaling).toBeUndefined()
    const bad = modelConfigFromText('config.json', JSON.stringify({ ...tinyQwen2Vl, text_config: { ...tinyQwen2Vl.text_config, rope_parameters: { type: 'mrope', mrope_section: [2, 2, 2] } } }))
    expect(bad.ok ? [] : bad.issues.map((i) => `${i.code} ${i.path}`)).toEqual(['TK310 config.json: rope_scaling.mrope_section'])
  })

  it('types the language model\'s, projector\'s and vision tower\'s module names; all-linear is the language model and projector', () => {
    expectTypeOf<'linear_1' | 'fc1' | 'q_proj'>().toMatchTypeOf<ModuleName<'llava'>>()
    expectTypeOf<'mlp.0' | 'qkv' | 'down_proj'>().toMatchTypeOf<ModuleName<'qwen2_vl'>>()
    expect(families.llava.linearModules).toEqual(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj', 'linear_1', 'linear_2'])
    expect(families.llava.vision.towerModules).toEqual(['q_proj', 'k_proj', 'v_proj', 'out_proj', 'fc1', 'fc2'])
    expect(families.qwen2_vl.vision.projectorModules).toEqual(['mlp.0', 'mlp.2'])
    const c = knownCheckpoints['llava-hf/llava-1.5-7b-hf']!.config
    expect(families.llava.linearShape(c, 'linear_1')).toEqual([1024, 4096])
  })
})

describe('vision-language recipes', () => {
  const recipe = (extra: Record<string, unknown>) => ({
    name: 'v', model: { id: 'llava-hf/llava-1.5-7b-hf', family: 'llava' as const }, data: { source: inline([{ instruction: 'a', output: 'b' }]), format: 'alpaca' as const }, ...extra,
  })
  it('train on the torch backend only and keep the vision tower frozen (TK510, TK511)', () => {
    expect(() => defineRecipe(recipe({ lora: { targetModules: ['q_proj', 'fc1', 'linear_1'] } }))).toThrowErrorMatchingInlineSnapshot(`
      [RecipeError: Recipe has 2 problems
      ✖ TK510 model.family "llava" is a vision-language model (transformers' own classes in the torch worker: vision tower, projector, language model), which the tfjs backend does not implement; backend is "auto", which may pick tfjs → at backend
        value: "auto"
        fix: Set backend: 'torch'.
      ✖ TK511 "fc1" is a module of llava's vision tower only, which stays frozen (LLaMA-Factory's freeze_vision_tower): LoRA adapts the language model and the projector → at lora.targetModules[1]
        value: "fc1"
        fix: Target the language model's or projector's modules of llava: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj, linear_1, linear_2.]
    `)
    expect(() => defineRecipe(recipe({ backend: 'torch', lora: { targetModules: ['q_proj', 'linear_1'] } }))).not.toThrow()
  })

  it('count LoRA on the projector once and full training without the tower', () => {
    const c = knownCheckpoints['llava-hf/llava-1.5-7b-hf']!.config
    const counted = countTrainable(methods.lora.schema.parse({ kind: 'lora', targetModules: ['linear_1', 'linear_2'] }), { family: families.llava, config: c, addedTokens: 0 })
    expect(counted.trainable).toBe(8 * (1024 + 4096) + 8 * (4096 + 4096))
    const full = countTrainable({ kind: 'full' }, { family: families.llava, config: c, addedTokens: 0 })
    expect(full.trainable).toBe(7_063_427_072 - 303_507_456)
  })
})
