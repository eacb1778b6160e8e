import { defineRecipe, families, familyInfo, hub, familyModelType, familyNames, knownCheckpoints, modelConfigFromText, type Family, type ModuleName } from '@tunekit/core'
import { describe, expect, expectTypeOf, it } from 'vitest'

describe('the model family registry', () => {
  it('counts the published parameter totals of the known checkpoints', () => {
    const totals = Object.fromEntries(
      Object.values(knownCheckpoints)
        .filter((c) => c.publishedParams > 0)
        .map((c) => [c.id, families[c.family].totalParams(c.config)]),
    )
    expect(totals).toEqual({
      'mistralai/Mistral-7B-v0.1': 7_241_732_096,
      'meta-llama/Llama-2-7b-hf': 6_738_415_616,
      'meta-llama/Llama-3.2-1B': 1_235_814_400,
      'Qwen/Qwen2-0.5B': 494_032_768,
      'Qwen/Qwen3-0.6B': 596_049_920,
      'google/gemma-2b': 2_506_172_416,
      'google/gemma-2-2b': 2_614_341_888,
      'microsoft/Phi-3-mini-4k-instruct': 3_821_079_552,
      'mistralai/Mixtral-8x7B-v0.1': 46_702_792_704,
      '01-ai/Yi-6B': 6_061_035_520,
      '01-ai/Yi-6B-Chat': 6_061_035_520,
      'google-bert/bert-base-uncased': 108_893_186,
      'bert-base-uncased': 108_893_186,
      'llava-hf/llava-1.5-7b-hf': 7_063_427_072,
      'Qwen/Qwen2-VL-2B-Instruct': 2_208_985_600,
      'Qwen/Qwen2-VL-7B-Instruct': 8_291_375_616,
      // the chat / instruct checkpoints: their base's config, so their base's count
      'meta-llama/Llama-2-7b-chat-hf': 6_738_415_616,
      'meta-llama/Llama-3.2-1B-Instruct': 1_235_814_400,
      'mistralai/Mistral-7B-Instruct-v0.1': 7_241_732_096,
      'mistralai/Mixtral-8x7B-Instruct-v0.1': 46_702_792_704,
      'google/gemma-2b-it': 2_506_172_416,
      'google/gemma-2-2b-it': 2_614_341_888,
      'Qwen/Qwen2-0.5B-Instruct': 494_032_768,
    })
    for (const c of Object.values(knownCheckpoints)) {
      if (c.publishedParams > 0) expect(families[c.family].totalParams(c.config)).toBe(c.publishedParams)
    }
  })

  it('counts modules from the config: GQA widths and qwen2 biases', () => {
    const mistral = knownCheckpoints['mistralai/Mistral-7B-v0.1']!.config
    // k_proj: hidden 4096 → 8 kv heads × 128 = 1024
    expect(families.mistral.linearShape(mistral, 'k_proj')).toEqual([4096, 1024])
    expect(families.mistral.moduleParams(mistral, 'k_proj')).toBe(4096 * 1024)
    expect(families.mistral.moduleParams(mistral, 'embed_tokens')).toBe(32000 * 4096)
    const qwen = knownCheckpoints['Qwen/Qwen2-0.5B']!.config
    // q_proj carries a bias of its output width (896) in qwen2
    expect(families.qwen2.moduleParams(qwen, 'q_proj')).toBe(896 * 896 + 896)
    expect(families.qwen2.moduleParams(qwen, 'o_proj')).toBe(896 * 896)
    // bert's `dense` is three modules a layer (PEFT matches the suffix): attention output, intermediate, output
    const bert = knownCheckpoints['google-bert/bert-base-uncased']!.config
    expect(families.bert.linearShapes(bert, 'dense')).toEqual([[768, 768], [768, 3072], [3072, 768]])
    expect(families.bert.moduleParams(bert, 'dense')).toBe(768 * 768 + 768 + 768 * 3072 + 3072 + 3072 * 768 + 768)
    expect(families.bert.moduleParams(bert, 'qa_outputs')).toBe(768 * 2 + 2)
  })

  it('round-trips every known config through writeConfig and readConfig', () => {
    for (const c of Object.values(knownCheckpoints)) {
      const family = families[c.family]
      const json = JSON.parse(JSON.stringify(family.writeConfig(c.config))) as Record<string, unknown>
      // yi's checkpoints are llama's
      expect(json.model_type).toBe(familyModelType(family))
      expect(json.architectures).toEqual([family.architecture])
      expect(family.readConfig(json)).toEqual(c.config)
    }
  })

  it('reads config.json defaults the way transformers does', () => {
    const config = families.llama.readConfig({
      vocab_size: 100, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4,
      eos_token_id: [2, 7],
    })
    expect(config).toMatchObject({ numKeyValueHeads: 4, headDim: 16, eosTokenId: 2, bosTokenId: null, tieWordEmbeddings: false, slidingWindow: null })
    expect(() => families.llama.readConfig({ vocab_size: 100 })).toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: config.json lacks a field the family needs
      ✖ TK310 config.json has no numeric "num_attention_heads", which a llama model needs → at num_attention_heads
        fix: Point the model at a Hugging Face model folder whose config.json matches model.family (model_type, hidden_size, …).]
    `)
  })

  it("reads rope scaling in either config.json spelling, with transformers' defaults, and names what it cannot compute", () => {
    const base = { vocab_size: 100, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, max_position_embeddings: 4096 }
    // Llama 3.2's transformers-4 form and transformers 5's rope_parameters give the same scaling
    const llama3 = { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 }
    const expected = { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 }
    expect(families.llama.readConfig({ ...base, rope_scaling: llama3 }).ropeScaling).toEqual(expected)
    expect(families.llama.readConfig({ ...base, rope_parameters: { ...llama3, rope_theta: 500000 } })).toMatchObject({ ropeTheta: 500000, ropeScaling: expected })
    expect(families.llama.readConfig({ ...base, rope_scaling: { type: 'linear', factor: 2 } }).ropeScaling).toEqual({ type: 'linear', factor: 2 })
    expect(families.llama.readConfig({ ...base, rope_parameters: { rope_type: 'default', rope_theta: 1e4 } }).ropeScaling).toBeUndefined()
    // yarn without attention_factor: 0.1 ln(factor) + 1; the original context defaults to max_position_embeddings
    expect(families.llama.readConfig({ ...base, rope_scaling: { rope_type: 'yarn', factor: 4 } }).ropeScaling).toEqual({
      type: 'yarn', factor: 4, originalMaxPositionEmbeddings: 4096, attentionFactor: 0.1 * Math.log(4) + 1, betaFast: 32, betaSlow: 1, truncate: true,
    })
    expect(() => families.llama.readConfig({ ...base, rope_scaling: { rope_type: 'longrope', factor: 4 } })).toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: A rope_scaling type tunekit does not compute
      ✖ TK250 config.json's rope scaling type "longrope" (rope_scaling / rope_parameters "rope_type") is not one tunekit computes for llama; supported: linear, dynamic, llama3, yarn → at rope_scaling.rope_type
        value: "longrope"
        fix: Use a checkpoint whose rope scaling is one of the supported types (Llama 3.x uses 'llama3'), or restore its config.json if it was edited.]
    `)
    expect(() => families.llama.readConfig({ ...base, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1 } })).toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: A rope_scaling field is missing or not a number
      ✖ TK251 config.json's llama3 rope scaling: high_freq_factor is missing → at rope_scaling.high_freq_factor
        fix: Give the field as transformers' modeling_rope_utils reads it (factor, low_freq_factor, high_freq_factor, original_max_position_embeddings, …), or restore the checkpoint's config.json.]
    `)
  })

  it('lists module names and defaults per family', () => {
    expect(familyNames).toEqual(['llama', 'mistral', 'qwen2', 'qwen3', 'gemma', 'gemma2', 'phi3', 'mixtral', 'yi', 'bert', 'llava', 'qwen2_vl', 'auto'])
    for (const name of familyNames) {
      const f = familyInfo(name)!
      expect(f.defaultTargetModules.every((m) => f.linearModules.includes(m))).toBe(true)
      // a vision-language family can also save its projector whole; 'auto' names no module until a folder's weights are read
      expect(f.saveableModules).toEqual(f.probed ? [] : f.kind === 'decoder' ? ['embed_tokens', 'lm_head', ...(f.vision ? [f.vision.projector] : [])] : ['qa_outputs', 'word_embeddings'])
    }
    expect(families.bert.linearModules).toEqual(['query', 'key', 'value', 'dense'])
    expect(families.bert.defaultTargetModules).toEqual(['query', 'value'])
    expect(familyInfo('gpt2' as Family)).toBeUndefined()
    // phi-3's fused modules, as PEFT targets them
    expect(families.phi3.linearModules).toEqual(['o_proj', 'qkv_proj', 'gate_up_proj', 'down_proj'])
    const phi3 = knownCheckpoints['microsoft/Phi-3-mini-4k-instruct']!.config
    expect(families.phi3.linearShape(phi3, 'qkv_proj')).toEqual([3072, 3 * 3072])
    expect(families.phi3.linearShape(phi3, 'gate_up_proj')).toEqual([3072, 2 * 8192])
    expect(families.yi.linearModules).toEqual(families.llama.linearModules)
    // Mixtral: 'all-linear' is the attention (PEFT's all-linear finds no nn.Linear experts in transformers 5);
    // an expert name is one module per expert
    const mixtral = knownCheckpoints['mistralai/Mixtral-8x7B-v0.1']!.config
    expect(families.mixtral.linearModules).toEqual(['q_proj', 'k_proj', 'v_proj', 'o_proj'])
    expect(families.mixtral.expertModules).toEqual(['w1', 'w2', 'w3', 'gate'])
    expect(families.mixtral.linearShapes(mixtral, 'w2')).toEqual(Array.from({ length: 8 }, () => [14336, 4096]))
    expect(families.mixtral.moduleParams(mixtral, 'gate')).toBe(8 * 4096)
    expectTypeOf<ModuleName<'phi3'>>().toEqualTypeOf<'o_proj' | 'qkv_proj' | 'gate_up_proj' | 'down_proj'>()
    expectTypeOf<ModuleName<'mixtral'>>().toEqualTypeOf<'q_proj' | 'k_proj' | 'v_proj' | 'o_proj' | 'w1' | 'w2' | 'w3' | 'gate'>()
    expectTypeOf<ModuleName<'yi'>>().toEqualTypeOf<ModuleName<'llama'>>()
  })

  it("reads a yi checkpoint (model_type llama) without a mismatch, and refuses phi-3's partial rotary and longrope", () => {
    const yi = JSON.stringify({ model_type: 'llama', vocab_size: 100, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, rope_theta: 5e6 })
    const read = modelConfigFromText('yi/config.json', yi, 'yi')
    expect(read.ok && read.warnings).toEqual([])
    expect(read.ok && read.value).toMatchObject({ family: 'llama', config: { ropeTheta: 5e6 } })
    const phi = { vocab_size: 100, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4 }
    expect(() => families.phi3.readConfig({ ...phi, partial_rotary_factor: 0.75 })).toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: Rotary embeddings over part of each head
      ✖ TK253 config.json's partial_rotary_factor is 0.75: phi3 rotates only that share of each head's width (as Phi-4-mini does), which tunekit's rotary tables do not compute; only 1 is supported → at partial_rotary_factor
        value: 0.75
        fix: Use a checkpoint whose partial_rotary_factor is 1 (Phi-3 mini, Phi-3 medium).]
    `)
    expect(() => families.phi3.readConfig({ ...phi, rope_scaling: { type: 'yarn', factor: 4, original_max_position_embeddings: 64 } })).toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: A rope_scaling type tunekit does not compute
      ✖ TK250 config.json's rope scaling type "yarn" (rope_scaling / rope_parameters "rope_type") is not one tunekit computes for phi3; supported: default → at rope_scaling.rope_type
        value: "yarn"
        fix: Use a checkpoint whose rope scaling is one of the supported types (Llama 3.x uses 'llama3'), or restore its config.json if it was edited.]
    `)
  })

  it('refuses architectures that need trust_remote_code, with what to use instead', () => {
    const chatglm = modelConfigFromText('glm/config.json', JSON.stringify({ model_type: 'chatglm', auto_map: { AutoConfig: 'configuration_chatglm.ChatGLMConfig' } }))
    expect(chatglm.ok ? [] : chatglm.issues).toMatchInlineSnapshot(`
      [
        {
          "code": "TK254",
          "hint": "Use GLM-4's transformers-native port (THUDM/glm-4-9b-chat-hf, model_type glm4; not a tunekit family yet) or a checkpoint of a family tunekit runs (qwen2, llama, …).",
          "message": "glm/config.json: model_type "chatglm" is defined by Python code shipped with the checkpoint (config.json auto_map; transformers loads it only with trust_remote_code=True), and tunekit runs no downloaded code on either backend",
          "name": "RemoteCodeModel",
          "path": "glm/config.json: model_type",
          "severity": "error",
          "value": "chatglm",
        },
      ]
    `)
    const custom = modelConfigFromText('custom/config.json', JSON.stringify({ model_type: 'my_arch', auto_map: { AutoModelForCausalLM: 'modeling_my.MyForCausalLM' } }))
    expect(custom.ok ? [] : custom.issues).toMatchInlineSnapshot(`
      [
        {
          "code": "TK254",
          "hint": "Use a transformers-native checkpoint of the architecture (config.json without auto_map) of a family tunekit runs.",
          "message": "custom/config.json: model_type "my_arch" is defined by Python code shipped with the checkpoint (config.json auto_map; transformers loads it only with trust_remote_code=True), and tunekit runs no downloaded code on either backend",
          "name": "RemoteCodeModel",
          "path": "custom/config.json: auto_map",
          "severity": "error",
          "value": "my_arch",
        },
      ]
    `)
  })

  it("types Mixtral's expert and router names for targetModules, and refuses training them (TK255)", () => {
    const model = { id: 'mistralai/Mixtral-8x7B-v0.1', family: 'mixtral' } as const
    const data = { source: hub('a/b'), format: 'alpaca' } as const
    expect(() => defineRecipe({ model, data, lora: { targetModules: ['q_proj', 'w1', 'gate'] } })).toThrowErrorMatchingInlineSnapshot(`
      [RecipeError: Recipe has 2 problems
      ✖ TK255 LoRA on w1 trains mixtral's experts or router: transformers 5 holds the experts as fused 3-D parameters (experts.gate_up_proj / down_proj) and the router as a bare weight, which PEFT adapts through target_parameters; tunekit does not train them yet → at lora.targetModules[1]
        value: "w1"
        fix: Adapt the attention modules (q_proj, k_proj, v_proj, o_proj; 'all-linear' is these), with modulesToSave for embed_tokens / lm_head if needed.
      ✖ TK255 LoRA on gate trains mixtral's experts or router: transformers 5 holds the experts as fused 3-D parameters (experts.gate_up_proj / down_proj) and the router as a bare weight, which PEFT adapts through target_parameters; tunekit does not train them yet → at lora.targetModules[2]
        value: "gate"
        fix: Adapt the attention modules (q_proj, k_proj, v_proj, o_proj; 'all-linear' is these), with modulesToSave for embed_tokens / lm_head if needed.]
    `)
    expect(() => defineRecipe({ model, data, method: { kind: 'full' } })).toThrowErrorMatchingInlineSnapshot(`
      [RecipeError: Recipe has 1 problem
      ✖ TK255 full fine-tuning trains mixtral's experts or router: transformers 5 holds the experts as fused 3-D parameters (experts.gate_up_proj / down_proj) and the router as a bare weight, which PEFT adapts through target_parameters; tunekit does not train them yet → at method.kind
        value: "full"
        fix: Adapt the attention modules (q_proj, k_proj, v_proj, o_proj; 'all-linear' is these), with modulesToSave for embed_tokens / lm_head if needed.]
    `)
  })
})
