import { defineRecipe, hub } from '@tunekit/core'
import { describe, it } from 'vitest'

const model = { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' } as const
const data = { source: hub('OpenAssistant/oasst_top1_2023-08-25'), format: 'chatml-text' } as const

describe('lora.initLoraWeights types', () => {
  it("accepts PEFT's values under either key", () => {
    defineRecipe({ model, data, lora: { initLoraWeights: 'pissa' } })
    defineRecipe({ model, data, lora: { initLoraWeights: 'pissa_niter_16' } })
    defineRecipe({ model, data, method: { kind: 'lora', initLoraWeights: true } })
    defineRecipe({ model: { ...model, quantize: { bits: 4, type: 'nf4' } }, data, lora: { initLoraWeights: 'loftq', loftqConfig: { loftqBits: 4, loftqIter: 1 } } })
  })

  it('refuses what PEFT does not take', () => {
    // @ts-expect-error false is not an init_lora_weights value here (PEFT's false leaves B random, not a start tunekit trains)
    defineRecipe({ model, data, lora: { initLoraWeights: false } })
    // @ts-expect-error pissa_niter_ takes a number of iterations
    defineRecipe({ model, data, lora: { initLoraWeights: 'pissa_niter_x' } })
    // @ts-expect-error LoftQ quantises to 4 or 8 bits
    defineRecipe({ model, data, lora: { initLoraWeights: 'loftq', loftqConfig: { loftqBits: 2 } } })
    // @ts-expect-error initLoraWeights belongs to LoRA
    defineRecipe({ model, data, method: { kind: 'full', initLoraWeights: 'pissa' } })
  })
})
