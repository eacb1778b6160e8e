// LLaMA Pro in core: the block layout (LLaMA-Factory's llama_pro.py), the trained names, and the
// catalog errors (a block count that does not divide the layers, a merge asked for).
import { expandedLayers, families, hub, llamaProTrainedNames } from '@tunekit/core'
import { describe, expect, it } from 'vitest'
import { recipeError } from './helpers.ts'

const base = {
  model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' },
  data: { source: hub('OpenAssistant/oasst_top1_2023-08-25'), format: 'chatml-text' },
} as const

describe('LLaMA Pro', () => {
  it('puts a copy after every (layers / n)-th layer, and trains the copies', () => {
    // llama_pro.py with 8 layers and num_expand 2: copies of layers 3 and 7 at expanded 4 and 9
    expect(expandedLayers(8, 2).map((l) => `${l.source}${l.added ? "'" : ''}`).join(' ')).toBe("0 1 2 3 3' 4 5 6 7 7'")
    const config = families.mistral.readConfig({ vocab_size: 320, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2 })
    const names = llamaProTrainedNames(1, families.mistral, config)
    expect(new Set(names.map((n) => n.split('.')[2]))).toEqual(new Set(['2']))
    expect(names).toHaveLength(9) // 7 linear weights + 2 norms
  })

  it('refuses a block count that does not divide the layers, and a merge', () => {
    expect(recipeError({ ...base, method: { kind: 'llama-pro', numExpandedBlocks: 5 }, output: { merge: true } }).message).toMatchInlineSnapshot(`
      "Recipe has 2 problems
      ✖ TK393 output.merge asks for a merged model, but LLaMA Pro's train artifact already is the expanded model (a transformers folder with the added blocks): there is no adapter to fold in → at output.merge
        value: true
        fix: Leave out output.merge (or set it to false) and output.gguf; load the train artifact itself (AutoModelForCausalLM.from_pretrained), and generate, score and \`tunekit chat\` read it as it is.
      ✖ TK392 method.numExpandedBlocks is 5, but the model has 32 decoder layers: a copy goes after every (layers / blocks)-th layer, so the blocks must divide the layers evenly (LLaMA-Factory's llama_pro.py refuses it too) → at method.numExpandedBlocks
        value: 5
        fix: Set method.numExpandedBlocks to one of 1, 2, 4, 8, 16, 32."
    `)
  })
})
