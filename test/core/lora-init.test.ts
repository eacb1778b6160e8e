// lora.initLoraWeights (PEFT's init_lora_weights: PiSSA, LoftQ) in core: the combinations PEFT
// refuses or tunekit cannot write are catalog errors (path, value, fix), and plan's trainable
// count is LoRA's (test/torch/pissa.test.ts checks it against PEFT's).
import { countParams, defineRecipe, families, hub } from '@tunekit/core'
import { describe, expect, it } from 'vitest'
import { recipeError } from './helpers.ts'

const base = {
  model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' },
  data: { source: hub('OpenAssistant/oasst_top1_2023-08-25'), format: 'chatml-text' },
} as const

describe('lora.initLoraWeights', () => {
  it("accepts PiSSA and pissa_niter_N, and resolves to PEFT's default (true)", () => {
    expect(defineRecipe({ ...base }).lora.initLoraWeights).toBe(true)
    expect(defineRecipe({ ...base, lora: { initLoraWeights: 'pissa' } }).lora.initLoraWeights).toBe('pissa')
    expect(defineRecipe({ ...base, method: { kind: 'lora', initLoraWeights: 'pissa_niter_4' } }).method).toMatchObject({ initLoraWeights: 'pissa_niter_4' })
  })

  it('PiSSA with another start, with DoRA, on a quantised base; loftqConfig without LoftQ', () => {
    const e = recipeError({ ...base, model: { ...base.model, quantize: { bits: 4, type: 'nf4' } }, lora: { initLoraWeights: 'pissa', init: 'gaussian', useDora: true, loftqConfig: { loftqBits: 4 } } })
    expect(e.message).toMatchInlineSnapshot(`
      "Recipe has 4 problems
      ✖ TK387 lora.loftqConfig configures LoftQ's quantiser, but lora.initLoraWeights is "pissa", so it would be ignored → at lora.loftqConfig
        value: {"loftqBits":4,"loftqIter":1}
        fix: Set lora.initLoraWeights: 'loftq' (with model.quantize), or remove lora.loftqConfig.
      ✖ TK384 lora.initLoraWeights "pissa" computes A and B from the base weights, but lora.init is "gaussian", which gives them other start values → at lora.init
        value: "gaussian"
        fix: Leave lora.init at 'default' with PiSSA or LoftQ; a PiSSA adapter tunekit wrote is already a plain LoRA of the original base, so continue it with lora.init (its folder) and initLoraWeights: true.
      ✖ TK388 lora.initLoraWeights "pissa" with lora.useDora: tunekit does not convert a DoRA adapter started from singular vectors into a plain adapter of the original base → at lora.initLoraWeights
        value: "pissa"
        fix: Choose one: remove lora.useDora, or set initLoraWeights: true.
      ✖ TK386 lora.initLoraWeights "pissa" replaces each adapted weight by its residual after the top singular vectors, which needs the full-precision weights, but model.quantize is set (PEFT's pissa_init refuses quantised weights too) → at lora.initLoraWeights
        value: "pissa"
        fix: Use initLoraWeights: 'loftq' with model.quantize (LoftQ is the quantisation-aware form), or remove model.quantize to train PiSSA."
    `)
  })

  it('LoftQ without model.quantize; with it, accepted', () => {
    expect(recipeError({ ...base, lora: { initLoraWeights: 'loftq' } }).message).toMatchInlineSnapshot(`
      "Recipe has 1 problem
      ✖ TK385 lora.initLoraWeights 'loftq' fits A and B to the quantisation error of each weight, but model.quantize is not set, so there is no quantisation error to fit → at lora.initLoraWeights
        value: "loftq"
        fix: Set model.quantize (e.g. { bits: 4, type: 'nf4' }), or use initLoraWeights: 'pissa' for a full-precision base."
    `)
    // with a quantised base LoftQ is accepted (trained on tfjs; on torch through PEFT's LoftQConfig, TK389 without CUDA)
    expect(defineRecipe({ ...base, model: { ...base.model, quantize: { bits: 4, type: 'nf4' } }, lora: { initLoraWeights: 'loftq', loftqConfig: { loftqIter: 2 } } }).lora?.initLoraWeights).toBe('loftq')
  })

  it('refuses a value that is not one of PEFT’s', () => {
    expect(recipeError({ ...base, lora: { initLoraWeights: 'pissa_niter_' } }).message).toMatchInlineSnapshot(`
      "Recipe has 1 problem
      ✖ TK104 expected one of true → at lora.initLoraWeights
        value: "pissa_niter_"
        fix: Use one of the allowed values."
    `)
  })

  it("counts PiSSA as LoRA of the same rank (the artifact's rank 2r is not trained)", () => {
    const family = families.mistral
    const config = family.readConfig({ vocab_size: 320, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256 })
    const count = (initLoraWeights: true | 'pissa'): number =>
      countParams(family, config, { kind: 'lora', rank: 4, alpha: 8, dropout: 0, targetModules: 'all-linear', modulesToSave: [], trainableTokens: false, rsLora: false, useDora: false, init: 'default', initLoraWeights }, 0).trainable
    // 2 layers × 4 · (q 128 + k 96 + v 96 + o 128 + gate 192 + up 192 + down 192)
    expect(count('pissa')).toBe(count(true))
    expect(count('pissa')).toBe(8192)
  })
})
