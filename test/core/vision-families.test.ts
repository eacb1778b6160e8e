import { countParams, countTrainable, defineRecipe, estimateMemory, families, inline, knownCheckpoints, methods, llavaImageTokens, modelConfigFromText, type ModuleName } from '@tunekit/core'
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

const recipe = (extra: Record<string, unknown> = {}) => ({
  name: 'v', model: { id: 'llava-hf/llava-1.5-7b-hf', family: 'llava' as const }, data: { source: inline([{ instruction: 'a', output: 'b' }]), format: 'alpaca' as const }, ...extra,
})

describe('vision-language recipes', () => {
  it('train on the torch backend only and keep the vision tower frozen (TK510, TK511)', () => {
    expect(() => defineRecipe(recipe({ lora: { targetModules: ['q_proj', 'fc1', 'linear_1'] } }))).toThrowErrorMatchingInlineSnapshot(`
      [RecipeError: Recipe has 2 problems
      ✖ TK510 model.family "llava" is a vision-language model (transformers' own classes in the torch worker: vision tower, projector, language model), which the tfjs backend does not implement; backend is "auto", which may pick tfjs → at backend
        value: "auto"
        fix: Set backend: 'torch'.
      ✖ TK511 "fc1" is a module of llava's vision tower only, which stays frozen (LLaMA-Factory's freeze_vision_tower): LoRA adapts the language model and the projector → at lora.targetModules[1]
        value: "fc1"
        fix: Target the language model's or projector's modules of llava: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj, linear_1, linear_2; or set model.vision.freezeTower: false to adapt the tower too.]
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

describe('model.vision: what of a vision-language model trains', () => {
  // test_vision_options.py's tiny LLaVA (vocab 65) and Qwen2-VL (vocab 68): the worker's requires_grad counts are these
  const read = (json: object, vocab: number) => {
    const r = modelConfigFromText('config.json', JSON.stringify({ ...json, text_config: { ...(json as { text_config: object }).text_config, vocab_size: vocab } }))
    if (!r.ok) throw new Error(JSON.stringify(r.issues))
    return r.value.config
  }
  const llava = read(tinyLlava, 65)
  const qwen = read(tinyQwen2Vl, 68)
  const vision = (v: object) => ({ freezeTower: true, freezeProjector: false, projectorOnly: false, ...v })
  const lora = (targetModules: string[]) => methods.lora.schema.parse({ kind: 'lora', rank: 4, targetModules })

  it('counts what the worker trains for each choice (full and LoRA), and plan holds the tower\'s gradients and moments', () => {
    const full = (family: typeof families.llava | typeof families.qwen2_vl, c: typeof llava, v?: object) => countTrainable({ kind: 'full' }, { family, config: c, addedTokens: 0, vision: v && vision(v) }).trainable
    expect([full(families.llava, llava), full(families.llava, llava, { freezeTower: false }), full(families.llava, llava, { freezeProjector: true }), full(families.llava, llava, { projectorOnly: true })]).toEqual([26_912, 49_408, 24_800, 2_112])
    expect([full(families.qwen2_vl, qwen), full(families.qwen2_vl, qwen, { freezeTower: false })]).toEqual([43_776, 70_272])
    const adapted = (family: typeof families.llava | typeof families.qwen2_vl, c: typeof llava, targets: string[], v?: object) => countTrainable(lora(targets), { family, config: c, addedTokens: 0, vision: v && vision(v) }).trainable
    expect(adapted(families.llava, llava, ['q_proj', 'v_proj'])).toBe(1_024)
    expect(adapted(families.llava, llava, ['q_proj', 'v_proj'], { freezeTower: false })).toBe(2_048) // CLIP's q/v_proj too
    const all = defineRecipe({ ...recipe(), backend: 'torch', model: { id: 'llava-hf/llava-1.5-7b-hf', family: 'llava', vision: { freezeTower: false } }, lora: { rank: 4, targetModules: 'all-linear' } })
    expect(all.lora.targetModules).toEqual(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj', 'linear_1', 'linear_2', 'out_proj', 'fc1', 'fc2'])
    expect(adapted(families.llava, llava, [...all.lora.targetModules], { freezeTower: false })).toBe(8_448)
    expect(adapted(families.llava, llava, ['linear_1', 'linear_2'], { projectorOnly: true })).toBe(512)
    expect(adapted(families.qwen2_vl, qwen, ['q_proj', 'v_proj', 'qkv', 'proj', 'fc1', 'fc2'], { freezeTower: false })).toBe(3_968)
    // IA³ adapts the language model only (the worker's exclude_modules keeps CLIP's k/v_proj out)
    expect(countTrainable({ kind: 'ia3', targetModules: ['k_proj', 'v_proj', 'down_proj'], feedforwardModules: ['down_proj'] }, { family: families.llava, config: llava, addedTokens: 0 }).trainable).toBe(256)
    // projectorOnly: LoRA's default targets are the projector's
    expect(defineRecipe({ ...recipe(), backend: 'torch', model: { id: 'llava-hf/llava-1.5-7b-hf', family: 'llava', vision: { projectorOnly: true } } }).lora.targetModules).toEqual(['linear_1', 'linear_2'])
    // the 7B checkpoint in full with its CLIP tower trained: 303,507,456 more trainable parameters than the default
    const c = knownCheckpoints['llava-hf/llava-1.5-7b-hf']!.config
    const counts = (v?: object) => countParams(families.llava, c, { kind: 'full' }, 0, v && vision(v))
    expect(counts({ freezeTower: false }).trainable - counts().trainable).toBe(303_507_456)
    // plan's memory: the tower's float32 gradients (4 bytes) and AdamW moments (8 bytes) a parameter more
    const memory = (v?: object) => estimateMemory({
      family: families.llava, config: c, params: counts(v), method: { kind: 'full' }, optimizer: 'adamw_torch', batchSize: 1, seqLen: 64,
      model: { id: 'llava-hf/llava-1.5-7b-hf', family: 'llava', dtype: 'bfloat16', gradientCheckpointing: true }, target: { backend: 'torch', device: 'cuda', dtypes: ['float32', 'bfloat16'] },
    })
    expect([memory({ freezeTower: false }).gradients - memory().gradients, memory({ freezeTower: false }).optimizer - memory().optimizer]).toEqual([4 * 303_507_456, 8 * 303_507_456])
  })

  it('refuses what cannot train: model.vision on a text family, freeze and llama-pro, projectorOnly beside LM modules (TK516-TK519)', () => {
    const tiny = { id: 'tunekit/tiny-mistral', family: 'mistral' as const, random: { seed: 0 } }
    expect(() => defineRecipe({ ...recipe(), model: { ...tiny, vision: { freezeTower: false } } })).toThrowErrorMatchingInlineSnapshot(`
      [RecipeError: Recipe has 1 problem
      ✖ TK516 model.vision says which parts of a vision-language model train, and model.family "mistral" has no vision tower or projector → at model.vision
        value: {"freezeTower":false,"freezeProjector":false,"projectorOn...
        fix: Remove model.vision, or train a vision-language family (llava, qwen2_vl).]
    `)
    expect(() => defineRecipe({ ...recipe(), backend: 'torch', method: { kind: 'freeze' } })).toThrowErrorMatchingInlineSnapshot(`
      [RecipeError: Recipe has 1 problem
      ✖ TK517 method "freeze" on the vision-language family "llava": its layer rule (LLaMA-Factory's freeze_trainable_layers) picks a text decoder's model.layers.<i>, which transformers' vision-language classes hold under model.language_model, so nothing of the language model would train → at method.kind
        value: "freeze"
        fix: Use method: { kind: 'full' } or LoRA (leave method out), which train the language model, the projector and, with model.vision.freezeTower: false, the vision tower.]
    `)
    expect(() => defineRecipe({ ...recipe(), backend: 'torch', model: { id: 'llava-hf/llava-1.5-7b-hf', family: 'llava', vision: { projectorOnly: true, freezeTower: false } }, lora: { targetModules: ['q_proj', 'linear_1'], modulesToSave: ['lm_head'] } })).toThrowErrorMatchingInlineSnapshot(`
      [RecipeError: Recipe has 3 problems
      ✖ TK518 model.vision.projectorOnly trains only the projector (LLaMA-Factory's train_mm_proj_only: the language model and the vision tower frozen), but freezeTower: false trains the vision tower → at model.vision.freezeTower
        value: false
        fix: Remove freezeTower: false (projectorOnly keeps the tower frozen), or remove projectorOnly to train the tower with the rest.
      ✖ TK518 model.vision.projectorOnly trains only the projector (LLaMA-Factory's train_mm_proj_only: the language model and the vision tower frozen), but lora.targetModules names "q_proj", which is not the projector's → at lora.targetModules[0]
        value: "q_proj"
        fix: Target only the projector's linears (linear_1, linear_2), or leave lora.targetModules out.
      ✖ TK518 model.vision.projectorOnly trains only the projector (LLaMA-Factory's train_mm_proj_only: the language model and the vision tower frozen), but lora.modulesToSave names "lm_head", a part of the language model → at lora.modulesToSave[0]
        value: "lm_head"
        fix: Save only "multi_modal_projector" in full, or nothing.]
    `)
    expect(() => defineRecipe({ ...recipe(), backend: 'torch', model: { id: 'Qwen/Qwen2-VL-2B-Instruct', family: 'qwen2_vl', vision: { freezeProjector: true } }, lora: { targetModules: ['q_proj', 'mlp.0', 'qkv'] } })).toThrowErrorMatchingInlineSnapshot(`
      [RecipeError: Recipe has 2 problems
      ✖ TK519 "mlp.0" is qwen2_vl's projector, which model.vision.freezeProjector keeps frozen (LLaMA-Factory's freeze_multi_modal_projector) → at lora.targetModules[1]
        value: "mlp.0"
        fix: Leave the projector out (qwen2_vl's language model modules: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj), or set model.vision.freezeProjector: false.
      ✖ TK511 "qkv" is a module of qwen2_vl's vision tower only, which stays frozen (LLaMA-Factory's freeze_vision_tower): LoRA adapts the language model and the projector → at lora.targetModules[2]
        value: "qkv"
        fix: Target the language model's or projector's modules of qwen2_vl: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj, mlp.0, mlp.2; or set model.vision.freezeTower: false to adapt the tower too.]
    `)
    expect(() => defineRecipe({ ...recipe(), backend: 'torch', model: { id: 'llava-hf/llava-1.5-7b-hf', family: 'llava', vision: { freezeTower: false } }, lora: { targetModules: ['q_proj', 'fc1'] } })).not.toThrow()
  })
})
