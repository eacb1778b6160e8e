import { defineRecipe, extendRecipe, file, hub, inline, parseRecipe, RecipeError } from '@tunekit/core'
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
