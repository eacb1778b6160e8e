// The method registry in core: options of another method are catalog errors (all at once), a
// resolved recipe re-parses as it is, and plan's counts match a hand count on a tiny model.
import { countParams, defineRecipe, estimateMemory, extendRecipe, families, hub, parseRecipe, type MethodOptions } from '@tunekit/core'
import { describe, expect, it } from 'vitest'
import { recipeError } from './helpers.ts'

const base = {
  model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' },
  data: { source: hub('OpenAssistant/oasst_top1_2023-08-25'), format: 'chatml-text' },
} as const

describe('method checks', () => {
  it("names every option of another method, LoRA's key among them, with path, value and fix", () => {
    const e = recipeError({
      ...base,
      model: { ...base.model, quantize: { bits: 4, type: 'nf4' } },
      lora: { rank: 16 },
      method: { kind: 'full', trainableLayers: 2, rank: 4 },
    })
    expect(e.message).toMatchInlineSnapshot(`
      "Recipe has 3 problems
      ✖ TK230 the \`lora\` key configures method 'lora', but this recipe's method is 'full' → at lora
        value: {"rank":16}
        fix: Remove the \`lora\` key, or leave out \`method\` to train LoRA.
      ✖ TK230 "trainableLayers" is an option of method 'freeze', but this recipe's method is 'full' → at method.trainableLayers
        value: 2
        fix: Remove method.trainableLayers, or set method.kind to 'freeze'.
      ✖ TK230 "rank" is an option of method 'lora', but this recipe's method is 'full' → at method.rank
        value: 4
        fix: Remove method.rank, or set method.kind to 'lora'."
    `)
  })

  it('refuses quantised weights under a method that trains them', () => {
    const e = recipeError({ ...base, model: { ...base.model, quantize: { bits: 4, type: 'nf4' } }, method: { kind: 'full' } })
    expect(e.message).toMatchInlineSnapshot(`
      "Recipe has 1 problem
      ✖ TK232 method 'full' updates the base weights, and 4-/8-bit weights cannot take gradient updates (QLoRA trains adapters beside them) → at method.kind
        value: "full"
        fix: Remove model.quantize, or train LoRA over the quantised weights (leave out method, or method: { kind: 'lora' })."
    `)
  })

  it("checks freeze's module names and the added tokens' rows", () => {
    const e = recipeError({ ...base, tokens: { chatml: true }, method: { kind: 'freeze', trainableModules: ['mlp', 'q_proj'], extraModules: ['lm_head', 'wte'] } })
    expect(e.message).toMatchInlineSnapshot(`
      "Recipe has 3 problems
      ✖ TK233 "q_proj" is not one of the modules trainableModules can name (self_attn, mlp, input_layernorm, post_attention_layernorm) → at method.trainableModules[1]
        value: "q_proj"
        fix: Use one of self_attn, mlp, input_layernorm, post_attention_layernorm.
      ✖ TK233 "wte" is not one of the modules extraModules can name (embed_tokens, norm, lm_head) → at method.extraModules[1]
        value: "wte"
        fix: Use one of embed_tokens, norm, lm_head.
      ✖ TK203 the recipe adds "<|im_start|>", "<|im_end|>" but neither embeds nor trains their embedding rows, so the new tokens keep random vectors → at method.extraModules
        value: ["lm_head","wte"]
        fix: Add 'embed_tokens' (and 'lm_head' unless the embeddings are tied) to method.extraModules."
    `)
  })

  it('says LoRA given twice, and checks LoRA under method as under the lora key', () => {
    const e = recipeError({ ...base, lora: { rank: 4 }, method: { kind: 'lora', targetModules: ['c_attn'] } })
    expect(e.message).toMatchInlineSnapshot(`
      "Recipe has 2 problems
      ✖ TK231 the recipe has both a \`lora\` key and method: { kind: 'lora', … }; they say the same thing → at lora
        value: {"rank":4}
        fix: Keep one: the \`lora\` key (the usual way), or method: { kind: 'lora', … } without the \`lora\` key.
      ✖ TK201 "c_attn" is not a module of the mistral family; its modules are q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj → at method.targetModules[0]
        value: "c_attn"
        fix: Use module names from the mistral family (the editor offers them after \`family: 'mistral'\`), or 'all-linear'."
    `)
  })
})

describe('resolved recipes', () => {
  it('carry the method; LoRA from the lora key is method lora', () => {
    const lora = defineRecipe({ ...base, lora: { rank: 16 } })
    expect(lora.method).toEqual({ kind: 'lora', ...lora.lora })
    expect(lora.method).toMatchObject({ kind: 'lora', rank: 16, targetModules: ['q_proj', 'v_proj'] })
    const viaMethod = defineRecipe({ ...base, method: { kind: 'lora', rank: 16 } })
    expect(viaMethod.lora).toEqual(lora.lora)
    const freeze = defineRecipe({ ...base, method: { kind: 'freeze' } })
    expect(freeze.method).toEqual({ kind: 'freeze', trainableLayers: 2, trainableModules: 'all', extraModules: [] })
  })

  it('re-parse unchanged (as `tunekit run --backend` does) and extend across methods', () => {
    for (const r of [defineRecipe({ ...base, lora: { rank: 16 } }), defineRecipe({ ...base, method: { kind: 'full' } })]) {
      expect(parseRecipe({ ...r, backend: 'torch' }).method).toEqual(r.method)
    }
    const lora = defineRecipe({ ...base, lora: { rank: 16 } })
    expect(extendRecipe(lora, { lora: { rank: 32 } }).method).toMatchObject({ kind: 'lora', rank: 32 })
    const full = extendRecipe(lora, { method: { kind: 'full' } })
    expect(full.method).toEqual({ kind: 'full' })
    expect(extendRecipe(full, { method: { kind: 'freeze', trainableLayers: 1 } }).method).toEqual({ kind: 'freeze', trainableLayers: 1, trainableModules: 'all', extraModules: [] })
  })
})

describe('trainable counts and memory, by hand on a tiny mistral (hidden 64, 2 layers, 32000 + 2 tokens)', () => {
  const family = families.mistral
  const config = family.readConfig({ vocab_size: 32000, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256 })
  // q 64·64, k and v 64·32 (2 kv heads of 16), o 64·64, gate/up/down 64·128: 36 864 per layer; norms 2·64
  const attn = 4096 + 2048 + 2048 + 4096
  const mlp = 3 * 8192
  const layer = attn + mlp + 2 * 64
  const vocabRows = 32002 * 64
  const count = (method: MethodOptions): number => countParams(family, config, method, 2).trainable

  it('full trains every parameter; freeze the layers and modules it names', () => {
    expect(count({ kind: 'full' })).toBe(2 * layer + 2 * vocabRows + 64)
    expect(count({ kind: 'freeze', trainableLayers: 2, trainableModules: 'all', extraModules: [] })).toBe(2 * layer)
    expect(count({ kind: 'freeze', trainableLayers: 1, trainableModules: ['self_attn', 'mlp'], extraModules: ['embed_tokens'] })).toBe(attn + mlp + vocabRows)
    // the first layer's second norm and the final norm
    expect(count({ kind: 'freeze', trainableLayers: -1, trainableModules: ['post_attention_layernorm'], extraModules: ['norm'] })).toBe(128)
    expect(countParams(family, config, { kind: 'full' }, 2)).toMatchObject({ method: 'full', trainedInBase: true, lora: 0, total: 2 * layer + 2 * vocabRows + 64 })
  })

  it('full on torch in float32: weights once (trained, float32), their gradients and two AdamW moments', () => {
    const params = countParams(family, config, { kind: 'full' }, 2)
    const memory = estimateMemory({
      family, config, params, method: { kind: 'full' }, optimizer: 'adamw_torch', batchSize: 2, seqLen: 64,
      model: { id: 'tiny', family: 'mistral', dtype: 'float32', gradientCheckpointing: false },
      target: { backend: 'torch', device: 'cpu', dtypes: ['float32'] },
    })
    expect([memory.weights, memory.adapters, memory.gradients, memory.optimizer]).toEqual([0, 4 * params.trainable, 4 * params.trainable, 8 * params.trainable])
  })
})
