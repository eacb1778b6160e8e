import { defineRecipe, hub } from '@tunekit/core'
import { describe, it } from 'vitest'

const model = { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' } as const
const data = { source: hub('OpenAssistant/oasst_top1_2023-08-25'), format: 'chatml-text' } as const

describe('IA³ and prompt tuning types', () => {
  it('accepts each with its own options', () => {
    defineRecipe({ model, data, method: { kind: 'ia3' } })
    defineRecipe({ model, data, method: { kind: 'ia3', targetModules: ['k_proj', 'v_proj', 'down_proj'], feedforwardModules: ['down_proj'] } })
    defineRecipe({ model, data, method: { kind: 'prompt-tuning', numVirtualTokens: 8 } })
    defineRecipe({ model, data, method: { kind: 'prompt-tuning', promptTuningInit: 'TEXT', promptTuningInitText: 'Answer:' } })
  })

  it('rejects what does not apply', () => {
    // @ts-expect-error targetModules belongs to LoRA and IA³: prompt tuning adapts no module
    defineRecipe({ model, data, method: { kind: 'prompt-tuning', targetModules: ['q_proj'] } })
    // @ts-expect-error c_attn is not a mistral module
    defineRecipe({ model, data, method: { kind: 'ia3', targetModules: ['c_attn'] } })
    // @ts-expect-error rank belongs to LoRA, not to IA³
    defineRecipe({ model, data, method: { kind: 'ia3', rank: 8 } })
    // @ts-expect-error PEFT's inits are 'RANDOM' and 'TEXT' (upper case)
    defineRecipe({ model, data, method: { kind: 'prompt-tuning', promptTuningInit: 'text' } })
    defineRecipe({
      model,
      data,
      method: { kind: 'ia3' },
      // @ts-expect-error lora is LoRA's option group; this recipe trains IA³
      lora: { rank: 16 },
    })
  })
})
