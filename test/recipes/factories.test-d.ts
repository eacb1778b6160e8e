import { expectTypeOf, test } from 'vitest'
import { hub, type Recipe } from '@tunekit/core'
import { loraChatml, qloraChatml } from '@tunekit/recipes'

const data = { source: hub('OpenAssistant/oasst_top1_2023-08-25') }

test('the family given in model keeps module names typed', () => {
  const recipe = qloraChatml({ model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' }, data })
  expectTypeOf(recipe).toEqualTypeOf<Recipe<'mistral'>>()
  expectTypeOf(recipe.lora.targetModules).items.toEqualTypeOf<'q_proj' | 'k_proj' | 'v_proj' | 'o_proj' | 'gate_proj' | 'up_proj' | 'down_proj'>()
})

test('a module the family does not have is a type error', () => {
  qloraChatml({
    model: { id: 'meta-llama/Llama-2-7b-hf', family: 'llama' },
    data,
    // @ts-expect-error c_attn is a GPT-2 module, not a llama one
    lora: { targetModules: ['c_attn'] },
  })
  loraChatml({
    model: { id: 'meta-llama/Llama-2-7b-hf', family: 'llama' },
    data,
    // @ts-expect-error unknown key in args
    args: { learningRat: 1e-4 },
  })
})

test('model and data.source are required', () => {
  // @ts-expect-error no model
  qloraChatml({ data })
  // @ts-expect-error no data source
  qloraChatml({ model: { id: 'x', family: 'mistral' }, data: { maxLength: 256 } })
})
