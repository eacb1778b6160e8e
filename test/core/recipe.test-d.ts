import { defineRecipe, extendRecipe, hub, type ModuleName, type Recipe, type RecipeInput } from '@tunekit/core'
import { describe, expectTypeOf, it } from 'vitest'

const data = { source: hub('OpenAssistant/oasst_top1_2023-08-25'), format: 'chatml-text' } as const

describe('defineRecipe types', () => {
  it('accepts a family-correct recipe and keeps the family', () => {
    const recipe = defineRecipe({
      model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral', quantize: { bits: 4, type: 'nf4' } },
      tokens: { chatml: true },
      lora: { rank: 64, alpha: 16, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], modulesToSave: ['lm_head', 'embed_tokens'] },
      data,
      args: { batchSize: 16, learningRate: 2e-4, optimizer: 'paged_adamw_32bit' },
    })
    expectTypeOf(recipe).toEqualTypeOf<Recipe<'mistral'>>()
    expectTypeOf(recipe.model.family).toEqualTypeOf<'mistral'>()
    expectTypeOf(recipe.lora.targetModules).toEqualTypeOf<readonly ModuleName<'mistral'>[]>()
    expectTypeOf(recipe.lora.rank).toEqualTypeOf<number>()
    expectTypeOf(recipe.args.learningRate).toEqualTypeOf<number>()
  })

  it('lets the stage say which data options apply', () => {
    const model = { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' } as const
    const text = { source: hub('acme/corpus'), format: 'text' } as const
    defineRecipe({ model, stage: { kind: 'pretrain' }, data: text })
    defineRecipe({ model, stage: { kind: 'pretrain' }, data: { ...text, mask: 'all', packing: false } })
    // @ts-expect-error a chat template has nothing to render with pretrain
    defineRecipe({ model, stage: { kind: 'pretrain' }, data: { ...text, template: 'chatml' } })
    // @ts-expect-error pretrain trains every token: no turn mask
    defineRecipe({ model, stage: { kind: 'pretrain' }, data: { ...text, mask: 'assistant' } })
    // @ts-expect-error pretrain reads raw text, not conversations
    defineRecipe({ model, stage: { kind: 'pretrain' }, data })
    // @ts-expect-error raw text is no sft data (sft is the default stage)
    defineRecipe({ model, data: text })
    defineRecipe({ model, stage: { kind: 'sft' }, data })
  })

  it('types module names by family', () => {
    expectTypeOf<ModuleName<'mistral'>>().toEqualTypeOf<'q_proj' | 'k_proj' | 'v_proj' | 'o_proj' | 'gate_proj' | 'up_proj' | 'down_proj'>()
    expectTypeOf<NonNullable<RecipeInput<'llama'>['lora']>['targetModules']>().toEqualTypeOf<
      'all-linear' | readonly ModuleName<'llama'>[] | undefined
    >()
    defineRecipe({
      model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' },
      // @ts-expect-error c_attn is a GPT-2 module, not a mistral one
      lora: { targetModules: ['q_proj', 'c_attn'] },
      data,
    })
    defineRecipe({
      model: { id: 'meta-llama/Llama-2-7b-hf', family: 'llama' },
      // @ts-expect-error wte is not a saveable llama module
      lora: { modulesToSave: ['wte'] },
      data,
    })
    defineRecipe({ model: { id: 'Qwen/Qwen2-0.5B', family: 'qwen2' }, lora: { targetModules: 'all-linear' }, data })
    // bert's names are PEFT's for BertModel (`dense` matches its three dense modules a layer)
    expectTypeOf<ModuleName<'bert'>>().toEqualTypeOf<'query' | 'key' | 'value' | 'dense'>()
    defineRecipe({
      model: { id: 'google-bert/bert-base-uncased', family: 'bert' },
      // @ts-expect-error q_proj is a decoder module, not a bert one
      lora: { targetModules: ['query', 'q_proj'], modulesToSave: ['qa_outputs'] },
      data,
    })
  })

  it('rejects unknown keys and wrong value types', () => {
    defineRecipe({
      model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' },
      // @ts-expect-error misspelt key: rnak
      lora: { rnak: 8 },
      data,
    })
    defineRecipe({
      model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' },
      data,
      // @ts-expect-error unknown top-level group
      trainer: {},
    })
    defineRecipe({
      model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' },
      data,
      // @ts-expect-error learningRate is a number
      args: { learningRate: '2e-4' },
    })
    defineRecipe({
      // @ts-expect-error quantize bits are 4 or 8
      model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral', quantize: { bits: 3 } },
      data,
    })
    defineRecipe({
      // @ts-expect-error gpt2 is not a known family
      model: { id: 'gpt2', family: 'gpt2' },
      data,
    })
    // @ts-expect-error data is required
    defineRecipe({ model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' } })
  })
})

describe('extendRecipe types', () => {
  const base = defineRecipe({ model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' }, data })

  it('accepts partial overrides typed by the base family', () => {
    const longer = extendRecipe(base, { args: { epochs: 5 }, lora: { targetModules: ['gate_proj', 'up_proj'] } })
    expectTypeOf(longer).toEqualTypeOf<Recipe<'mistral'>>()
  })

  it('rejects wrong modules, unknown keys and wrong types in overrides', () => {
    // @ts-expect-error c_attn is not a mistral module
    extendRecipe(base, { lora: { targetModules: ['c_attn'] } })
    // @ts-expect-error misspelt key
    extendRecipe(base, { args: { learnignRate: 1e-4 } })
    // @ts-expect-error epochs is a number
    extendRecipe(base, { args: { epochs: 'three' } })
  })
})
