// IA³ and prompt tuning in core: their catalog errors (path, value, fix) and plan's trainable counts
// (PEFT's print_trainable_parameters on the same shapes: test/torch/ia3.test.ts, prompt-tuning.test.ts).
import { countParams, defineRecipe, families, hub, type MethodOptions } from '@tunekit/core'
import { describe, expect, it } from 'vitest'
import { recipeError } from './helpers.ts'

const base = {
  model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' },
  data: { source: hub('OpenAssistant/oasst_top1_2023-08-25'), format: 'chatml-text' },
} as const

describe('IA³ and prompt tuning checks', () => {
  it("IA³: module names, feed-forward modules among the targets, LoRA's options", () => {
    const e = recipeError({ ...base, method: { kind: 'ia3', targetModules: ['k_proj', 'wte'], feedforwardModules: ['down_proj'] } })
    expect(e.message).toMatchInlineSnapshot(`
      "Recipe has 2 problems
      ✖ TK201 "wte" is not a module of the mistral family; its modules are q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj → at method.targetModules[1]
        value: "wte"
        fix: Use module names from the mistral family (the editor offers them after \`family: 'mistral'\`), or 'all-linear'.
      ✖ TK370 "down_proj" is in feedforwardModules but not in the target modules (k_proj, wte); IA³ scales the input only of modules it adapts (PEFT's IA3Config refuses this too) → at method.feedforwardModules[0]
        value: "down_proj"
        fix: Add the module to method.targetModules, or remove it from method.feedforwardModules."
    `)
    expect(recipeError({ ...base, method: { kind: 'ia3', rank: 4 } }).message).toMatchInlineSnapshot(`
      "Recipe has 1 problem
      ✖ TK230 "rank" is an option of method 'lora', but this recipe's method is 'ia3' → at method.rank
        value: 4
        fix: Remove method.rank, or set method.kind to 'lora'."
    `)
  })

  it('prompt tuning: the init text, merging, the stage, packing, and targetModules', () => {
    const e = recipeError({ ...base, stage: { kind: 'dpo' }, output: { gguf: ['q8_0'] }, method: { kind: 'prompt-tuning', promptTuningInitText: 'Answer:' } })
    expect(e.message).toMatchInlineSnapshot(`
      "Recipe has 3 problems
      ✖ TK375 output.gguf asks for a merged model, but prompt tuning's virtual tokens are inputs, not weights: there is nothing to fold into the base (PEFT cannot merge it either) → at output.gguf
        value: ["q8_0"]
        fix: Leave out output.merge (or set it to false) and output.gguf; generate, score and \`tunekit chat --adapter\` run the base model with the adapter, its virtual tokens prepended.
      ✖ TK374 stage 'dpo' scores sequences with its own forward passes (reference log-probabilities, pairs, heads), which do not prepend prompt tuning's virtual tokens → at stage.kind
        value: "dpo"
        fix: Use stage 'sft' (or 'pretrain') with prompt tuning, or train this stage with LoRA or IA³.
      ✖ TK372 method.promptTuningInitText is set but method.promptTuningInit is 'RANDOM', so the text would be ignored → at method.promptTuningInitText
        value: "Answer:"
        fix: Set method.promptTuningInit: 'TEXT' to start from the text, or remove method.promptTuningInitText."
    `)
    const pretrain = recipeError({ ...base, data: { ...base.data, format: 'text' }, stage: { kind: 'pretrain' }, method: { kind: 'prompt-tuning', targetModules: ['q_proj'] } })
    expect(recipeError({ ...base, method: { kind: 'prompt-tuning', promptTuningInit: 'TEXT' }, output: { merge: true } }).message).toMatchInlineSnapshot(`
      "Recipe has 2 problems
      ✖ TK375 output.merge asks for a merged model, but prompt tuning's virtual tokens are inputs, not weights: there is nothing to fold into the base (PEFT cannot merge it either) → at output.merge
        value: true
        fix: Leave out output.merge (or set it to false) and output.gguf; generate, score and \`tunekit chat --adapter\` run the base model with the adapter, its virtual tokens prepended.
      ✖ TK371 method.promptTuningInit is 'TEXT' but method.promptTuningInitText is not set; the virtual tokens start as the embeddings of that text's tokens → at method.promptTuningInitText
        fix: Set method.promptTuningInitText (e.g. 'Answer the question:'), or use promptTuningInit: 'RANDOM'."
    `)
    expect(pretrain.message).toMatchInlineSnapshot(`
      "Recipe has 2 problems
      ✖ TK230 "targetModules" is an option of method 'lora', but this recipe's method is 'prompt-tuning' → at method.targetModules
        value: ["q_proj"]
        fix: Remove method.targetModules, or set method.kind to 'lora'.
      ✖ TK373 data.packing puts several examples in one row, but prompt tuning prepends its virtual tokens once per row and PEFT ignores position ids for it, so the packed examples after the first would see the wrong positions and the other examples → at data.packing
        value: true
        fix: Set data.packing: false (each row one example, padded), or train LoRA."
    `)
  })

  it('warns (does not refuse) that added tokens keep their start rows', () => {
    const r = defineRecipe({ ...base, tokens: { chatml: true }, method: { kind: 'ia3' } })
    expect(r.method).toEqual({ kind: 'ia3' })
  })

  it("counts PEFT's trainable values: IA³ one per output (feed-forward: input) feature, prompt tuning n × hidden", () => {
    const family = families.mistral
    const config = family.readConfig({ vocab_size: 320, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256 })
    const count = (method: MethodOptions): number => countParams(family, config, method, 2).trainable
    // PEFT's mistral defaults: 2 layers × (k 32 + v 32 outputs, down_proj's 128 inputs) = 384, as print_trainable_parameters says
    expect(count({ kind: 'ia3' })).toBe(384)
    expect(count({ kind: 'ia3', targetModules: ['q_proj', 'up_proj'], feedforwardModules: ['up_proj'] })).toBe(2 * (64 + 64))
    expect(count({ kind: 'prompt-tuning', numVirtualTokens: 8, promptTuningInit: 'RANDOM' })).toBe(512)
  })
})
