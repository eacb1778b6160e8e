import { defineRecipe, hub, type MethodKind, type Recipe } from '@tunekit/core'
import { describe, expectTypeOf, it } from 'vitest'

const model = { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' } as const
const data = { source: hub('OpenAssistant/oasst_top1_2023-08-25'), format: 'chatml-text' } as const

describe('method types', () => {
  it('accepts each method with its own options', () => {
    const full = defineRecipe({ model, data, method: { kind: 'full' } })
    expectTypeOf(full).toEqualTypeOf<Recipe<'mistral'>>()
    expectTypeOf(full.method.kind).toEqualTypeOf<MethodKind>()
    defineRecipe({ model, data, method: { kind: 'freeze', trainableLayers: 2, trainableModules: ['mlp'], extraModules: ['embed_tokens', 'lm_head'] } })
    defineRecipe({ model, data, method: { kind: 'lora', rank: 16, targetModules: ['q_proj', 'v_proj'] } })
    // the card's way of saying LoRA
    defineRecipe({ model, data, lora: { rank: 16 } })
    // DoRA is a LoRA option, under either key
    defineRecipe({ model, data, lora: { rank: 16, useDora: true } })
    defineRecipe({ model, data, method: { kind: 'lora', useDora: true } })
  })

  it("rejects another method's options", () => {
    defineRecipe({
      model,
      data,
      method: { kind: 'full' },
      // @ts-expect-error lora is LoRA's option group; this recipe trains in full
      lora: { rank: 16 },
    })
    // every method but LoRA's, this round's too (LoraKeyFor reads them from MethodInputFor)
    for (const method of [{ kind: 'llama-pro' }, { kind: 'p-tuning' }, { kind: 'prefix-tuning' }] as const) {
      // @ts-expect-error lora is LoRA's option group; this recipe trains another method
      defineRecipe({ model, data, method, lora: { rank: 16 } })
    }
    defineRecipe({
      model,
      data,
      // @ts-expect-error trainableLayers belongs to freeze, not to full
      method: { kind: 'full', trainableLayers: 2 },
    })
    defineRecipe({
      model,
      data,
      // @ts-expect-error rank belongs to LoRA, not to freeze
      method: { kind: 'freeze', rank: 8 },
    })
    defineRecipe({
      model,
      data,
      // @ts-expect-error q_proj is a linear module; freeze trains whole parts of a layer (self_attn, mlp, norms)
      method: { kind: 'freeze', trainableModules: ['q_proj'] },
    })
    defineRecipe({
      model,
      data,
      // @ts-expect-error useDora belongs to LoRA: full training has no low-rank update to decompose
      method: { kind: 'full', useDora: true },
    })
    defineRecipe({
      model,
      data,
      // @ts-expect-error useDora is a boolean (PEFT's use_dora)
      lora: { useDora: 'yes' },
    })
    defineRecipe({
      model,
      data,
      // @ts-expect-error c_attn is not a mistral module, under method lora as under the lora key
      method: { kind: 'lora', targetModules: ['c_attn'] },
    })
  })
})
