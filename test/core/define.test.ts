import { defineRecipe, extendRecipe, file, hub, inline, parseRecipe, RecipeError, templateChoice } from '@tunekit/core'
import { describe, expect, it } from 'vitest'

const data = { source: hub('OpenAssistant/oasst_top1_2023-08-25'), format: 'chatml-text' } as const

describe('defineRecipe', () => {
  const recipe = defineRecipe({ model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' }, data })

  it("fills PEFT's and transformers' defaults", () => {
    expect(recipe.lora).toEqual({
      rank: 8, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj'], modulesToSave: [],
      trainableTokens: false, rsLora: false, useDora: false, init: 'default', initLoraWeights: true,
    })
    expect(recipe.args).toMatchObject({ batchSize: 8, gradientAccumulationSteps: 1, epochs: 3, learningRate: 5e-5, lrScheduler: 'linear', optimizer: 'adamw_torch', maxGradNorm: 1, seed: 42 })
    expect(recipe.data).toMatchObject({ template: 'chatml', maxLength: 1024, truncation: 'truncate', mask: 'assistant', split: { eval: 0.05, seed: 42 } })
    expect(recipe.backend).toBe('auto')
  })

  it('returns a deeply frozen recipe', () => {
    expect(Object.isFrozen(recipe)).toBe(true)
    expect(Object.isFrozen(recipe.lora.targetModules)).toBe(true)
    expect(Object.isFrozen(recipe.data.source)).toBe(true)
  })

  it("expands 'all-linear' to the family's linear modules", () => {
    const all = defineRecipe({ model: { id: 'Qwen/Qwen2-0.5B', family: 'qwen2' }, lora: { targetModules: 'all-linear' }, data })
    expect(all.lora.targetModules).toEqual(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'])
  })

  it('accepts its own output again unchanged', () => {
    expect(parseRecipe(recipe)).toEqual(recipe)
  })
})

describe('extendRecipe', () => {
  const base = defineRecipe({
    model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' },
    lora: { rank: 64, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] },
    data,
  })

  it('merges objects, replaces arrays and validates again', () => {
    const next = extendRecipe(base, { lora: { targetModules: ['gate_proj'] }, args: { epochs: 1 } })
    expect(next.lora.rank).toBe(64)
    expect(next.lora.targetModules).toEqual(['gate_proj'])
    expect(next.args.epochs).toBe(1)
    expect(next.args.batchSize).toBe(8)
    expect(base.args.epochs).toBe(3)
  })

  it('replaces a source of another kind instead of merging their keys', () => {
    const inlined = extendRecipe(base, { data: { source: inline([{ text: 'x' }]) } })
    const next = extendRecipe(inlined, { data: { source: file('data/mine.jsonl') } })
    expect(next.data.source).toEqual({ kind: 'file', path: 'data/mine.jsonl' })
  })

  it('reports problems in the overrides like defineRecipe', () => {
    expect(() => extendRecipe(base, { args: { learningRate: -1 } })).toThrow(RecipeError)
  })
})

describe('the chat template a recipe leaves out', () => {
  const chat = { source: inline([{ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] }]), format: 'openai' } as const
  const chosen = (model: Parameters<typeof defineRecipe>[0]['model'], extra: { tokens?: { chatml: boolean }; template?: 'alpaca' } = {}) => {
    const r = defineRecipe({ model, backend: 'torch', data: { ...chat, ...(extra.template ? { template: extra.template } : {}) }, ...(extra.tokens ? { tokens: extra.tokens, lora: { trainableTokens: true } } : {}) } as Parameters<typeof defineRecipe>[0])
    return `${String(r.data.template)}: ${templateChoice(r)?.rule}`
  }

  it('is ChatML with tokens.chatml, else a known chat checkpoint\'s own, else the family\'s (llama-3 where the config shows Llama 3)', () => {
    expect([
      chosen({ id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' }, { tokens: { chatml: true } }),
      chosen({ id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' }),
      chosen({ id: 'mistralai/Mixtral-8x7B-Instruct-v0.1', family: 'mixtral' }),
      chosen({ id: 'meta-llama/Llama-3.2-1B-Instruct', family: 'llama' }),
      chosen({ id: 'meta-llama/Llama-3.2-1B', family: 'llama' }),
      chosen({ id: 'meta-llama/Llama-2-7b-hf', family: 'llama' }),
      chosen({ id: 'tiny-llama3', family: 'llama', random: { config: { ...llamaConfig, vocab_size: 322, 'rope_scaling.rope_type': 'llama3', 'rope_scaling.factor': 8, 'rope_scaling.low_freq_factor': 1, 'rope_scaling.high_freq_factor': 4, 'rope_scaling.original_max_position_embeddings': 8192 } } }),
      chosen({ id: './models/my-llama', family: 'llama' }),
      chosen({ id: 'google/gemma-2-2b', family: 'gemma2' }),
      chosen({ id: 'microsoft/Phi-3-mini-4k-instruct', family: 'phi3' }),
      chosen({ id: 'Qwen/Qwen3-0.6B', family: 'qwen3' }),
      chosen({ id: 'llava-hf/llava-1.5-7b-hf', family: 'llava' }),
      chosen({ id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' }, { template: 'alpaca' }),
    ]).toMatchInlineSnapshot(`
      [
        "chatml: tokens.chatml: true adds ChatML's tokens to train in ChatML",
        "mistral-instruct: family mistral's default (its chat models' template)",
        "mistral-instruct: mistralai/Mixtral-8x7B-Instruct-v0.1's own chat template (the chat_template it ships)",
        "llama-3: meta-llama/Llama-3.2-1B-Instruct's own chat template (the chat_template it ships)",
        "llama-3: family llama's default for Llama 3 (vocab_size 128256)",
        "llama-2: family llama's default (its chat models' template; the config does not show Llama 3)",
        "llama-3: family llama's default for Llama 3 (rope_scaling rope_type llama3)",
        "llama-2: family llama's default (the config is not known yet; compile reads config.json for Llama 3)",
        "gemma: family gemma2's default (its chat models' template)",
        "phi-3: microsoft/Phi-3-mini-4k-instruct's own chat template (the chat_template it ships)",
        "chatml: family qwen3's default (its chat models' template)",
        "llava: llava-hf/llava-1.5-7b-hf's own chat template (the chat_template it ships)",
        "alpaca: set in data.template",
      ]
    `)
  })

  it('is chosen again when a recipe with a filled template is parsed with another model, and kept where the recipe set it', () => {
    const mistral = defineRecipe({ model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' }, data: chat })
    const gemma = parseRecipe({ ...mistral, model: { ...mistral.model, id: 'google/gemma-2b-it', family: 'gemma' } })
    expect([mistral.data.template, gemma.data.template, templateChoice(gemma)?.rule]).toEqual(['mistral-instruct', 'gemma', "google/gemma-2b-it's own chat template (the chat_template it ships)"])
    const set = defineRecipe({ model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' }, data: { ...chat, template: 'mistral-instruct' } })
    expect(parseRecipe({ ...set, model: { ...set.model, id: 'google/gemma-2b', family: 'gemma' } }).data.template).toBe('mistral-instruct')
  })
})

/** A whole llama config.json (a random model of an id the registry does not know). */
const llamaConfig = { model_type: 'llama', hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 2048, rms_norm_eps: 1e-5 }
