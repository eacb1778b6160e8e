import { defineRecipe, hub } from '@tunekit/core'
import { describe, it } from 'vitest'

const model = { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' } as const
const data = { source: hub('OpenAssistant/oasst_top1_2023-08-25'), format: 'chatml-text' } as const

describe('P-tuning and prefix tuning types', () => {
  it('accepts each with its own options', () => {
    defineRecipe({ model, data, method: { kind: 'p-tuning' } })
    defineRecipe({ model, data, method: { kind: 'p-tuning', numVirtualTokens: 10, encoderReparameterizationType: 'LSTM', encoderHiddenSize: 128, encoderNumLayers: 2, encoderDropout: 0.1 } })
    defineRecipe({ model, data, method: { kind: 'prefix-tuning', numVirtualTokens: 10 } })
    defineRecipe({ model, data, method: { kind: 'prefix-tuning', prefixProjection: true, encoderHiddenSize: 256 } })
  })

  it('rejects what does not apply', () => {
    // @ts-expect-error targetModules belongs to LoRA and IA³: prefix tuning adapts no module
    defineRecipe({ model, data, method: { kind: 'prefix-tuning', targetModules: ['q_proj'] } })
    // @ts-expect-error prefixProjection is prefix tuning's; P-tuning always has its encoder
    defineRecipe({ model, data, method: { kind: 'p-tuning', prefixProjection: true } })
    // @ts-expect-error PEFT's encoder types are 'MLP' and 'LSTM' (upper case)
    defineRecipe({ model, data, method: { kind: 'p-tuning', encoderReparameterizationType: 'lstm' } })
    // @ts-expect-error encoderReparameterizationType is P-tuning's, not prefix tuning's
    defineRecipe({ model, data, method: { kind: 'prefix-tuning', encoderReparameterizationType: 'MLP' } })
    defineRecipe({
      model,
      data,
      method: { kind: 'prefix-tuning' },
      // @ts-expect-error lora is LoRA's option group; this recipe trains prefix tuning
      lora: { rank: 16 },
    })
  })
})
