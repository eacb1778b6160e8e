// P-tuning and prefix tuning in core: their catalog errors (path, value, fix) and plan's trainable
// counts, each the number PEFT 0.21's print_trainable_parameters() printed for the same config on a
// LlamaForCausalLM of the same shapes (hidden 32, 2 layers, 4 heads, 2 kv heads; the training runs
// in test/torch/prompt-encoders.test.ts check the count against the worker's PEFT model too).
import { checkMethod, countParams, families, formatIssue, hub, type MethodOptions } from '@tunekit/core'
import { describe, expect, it } from 'vitest'
import { recipeError } from './helpers.ts'

const base = {
  model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' },
  data: { source: hub('OpenAssistant/oasst_top1_2023-08-25'), format: 'chatml-text' },
} as const

describe('P-tuning and prefix tuning checks', () => {
  it('prefix tuning: gradient checkpointing, targetModules, merging', () => {
    const e = recipeError({ ...base, model: { ...base.model, gradientCheckpointing: true }, output: { merge: true }, method: { kind: 'prefix-tuning', targetModules: ['q_proj'] } })
    expect(e.message).toMatchInlineSnapshot(`
      "Recipe has 3 problems
      ✖ TK230 "targetModules" is an option of method 'lora', but this recipe's method is 'prefix-tuning' → at method.targetModules
        value: ["q_proj"]
        fix: Remove method.targetModules, or set method.kind to 'lora'.
      ✖ TK375 output.merge asks for a merged model, but prefix tuning's virtual tokens are inputs, not weights: there is nothing to fold into the base (PEFT cannot merge it either) → at output.merge
        value: true
        fix: Leave out output.merge (or set it to false) and output.gguf; generate, score and \`tunekit chat --adapter\` run the base model with the adapter, its prefix before every layer's keys and values.
      ✖ TK379 model.gradientCheckpointing recomputes each layer in the backward pass, but prefix tuning's keys and values enter every layer as its past (a cache), which the recompute does not carry; PEFT refuses the combination too → at model.gradientCheckpointing
        value: true
        fix: Set model.gradientCheckpointing: false (prefix tuning keeps rows their own length, so activations grow less than with prompt tuning), or train P-tuning."
    `)
  })

  it("P-tuning: the stage, packing, and the MLP's fixed depth (a warning)", () => {
    const e = recipeError({ ...base, data: { ...base.data, format: 'text' }, stage: { kind: 'pretrain' }, method: { kind: 'p-tuning', rank: 8 } })
    expect(e.message).toMatchInlineSnapshot(`
      "Recipe has 2 problems
      ✖ TK230 "rank" is an option of method 'lora', but this recipe's method is 'p-tuning' → at method.rank
        value: 8
        fix: Remove method.rank, or set method.kind to 'lora'.
      ✖ TK373 data.packing puts several examples in one row, but P-tuning prepends its virtual tokens once per row and PEFT ignores position ids for it, so the packed examples after the first would see the wrong positions and the other examples → at data.packing
        value: true
        fix: Set data.packing: false (each row one example, padded), or train LoRA."
    `)
    expect(recipeError({ ...base, stage: { kind: 'orpo' }, method: { kind: 'p-tuning' } }).message).toMatchInlineSnapshot(`
      "Recipe has 1 problem
      ✖ TK374 stage 'orpo' scores sequences with its own forward passes (reference log-probabilities, pairs, heads), which do not prepend P-tuning's virtual tokens → at stage.kind
        value: "orpo"
        fix: Use stage 'sft' (or 'pretrain') with P-tuning, or train this stage with LoRA or IA³."
    `)
  })

  it('args.paddingFree is refused for every prompt-learning method (a row leads with the virtual tokens, not each sample)', () => {
    for (const kind of ['prompt-tuning', 'p-tuning', 'prefix-tuning'] as const) {
      const e = recipeError({ ...base, backend: 'torch', args: { paddingFree: true }, method: { kind, numVirtualTokens: 8 } })
      expect(e.message).toContain('TK658')
      expect(e.message).toContain('its 8 virtual token(s)')
    }
  })

  it('model-aware checks: the families prefix tuning refuses, and the warnings', () => {
    const at = (family: keyof typeof families, method: Parameters<typeof checkMethod>[0]): string =>
      checkMethod(method, { family: families[family], quantized: false, addedTokens: [] }, 'method').map(formatIssue).join('\n')
    expect(at('mistral', { kind: 'prefix-tuning', numVirtualTokens: 4, prefixProjection: false })).toBe('')
    expect(at('gemma2', { kind: 'prefix-tuning' })).toMatchInlineSnapshot(`
      "✖ TK376 prefix tuning feeds per-layer key/value prefixes to attention as past key values, but family 'gemma2' has Gemma 2's sliding-window and soft-capped attention layers, which tunekit's tfjs attention does not give a prefix → at method.kind
        value: "prefix-tuning"
        fix: Train this family with prompt tuning or P-tuning (virtual tokens before the input), LoRA or IA³; prefix tuning runs on llama, mistral, qwen2, qwen3 and gemma."
    `)
    expect(at('bert', { kind: 'prefix-tuning' })).toMatchInlineSnapshot(`
      "✖ TK376 prefix tuning feeds per-layer key/value prefixes to attention as past key values, but family 'bert' is an encoder (PEFT passes no past key values to its question-answering head) → at method.kind
        value: "prefix-tuning"
        fix: Train this family with prompt tuning or P-tuning (virtual tokens before the input), LoRA or IA³; prefix tuning runs on llama, mistral, qwen2, qwen3 and gemma."
    `)
    expect(at('mistral', { kind: 'prefix-tuning', prefixProjection: false, encoderHiddenSize: 64 })).toMatchInlineSnapshot(`
      "⚠ TK378 method.encoderHiddenSize is set but method.prefixProjection is false, so there is no projection MLP for it to size (PEFT ignores it too) → at method.encoderHiddenSize
        value: 64
        fix: Set method.prefixProjection: true to train the prefix through the MLP, or remove method.encoderHiddenSize."
    `)
    expect(at('mistral', { kind: 'p-tuning', encoderReparameterizationType: 'MLP', encoderNumLayers: 3 })).toMatchInlineSnapshot(`
      "⚠ TK377 method.encoderNumLayers is 3, but the MLP prompt encoder always has PEFT's three linear layers; only the LSTM encoder stacks encoderNumLayers layers → at method.encoderNumLayers
        value: 3
        fix: Remove method.encoderNumLayers, or set method.encoderReparameterizationType: 'LSTM'."
    `)
    expect(at('mistral', { kind: 'p-tuning', encoderReparameterizationType: 'LSTM', encoderNumLayers: 3 })).toBe('')
  })

  it("counts PEFT's trainable values: the encoder in training mode (the saved adapter is its output)", () => {
    const family = families.llama
    const config = family.readConfig({ vocab_size: 100, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256 })
    const count = (method: MethodOptions): number => countParams(family, config, method, 0).trainable
    const pTuning = { kind: 'p-tuning', numVirtualTokens: 3, encoderReparameterizationType: 'MLP', encoderNumLayers: 2, encoderDropout: 0 } as const
    // PEFT 0.21, PromptEncoderConfig(num_virtual_tokens=3): embedding 3·32 + three Linear(32, 32)
    expect(count(pTuning)).toBe(3264)
    // encoder_reparameterization_type="LSTM", encoder_hidden_size=16: two bidirectional layers and the head
    expect(count({ ...pTuning, encoderReparameterizationType: 'LSTM', encoderHiddenSize: 16 })).toBe(15008)
    // PrefixTuningConfig(num_virtual_tokens=3): [3, 2 layers · 2 · (8 · 2 kv heads)]
    expect(count({ kind: 'prefix-tuning', numVirtualTokens: 3, prefixProjection: false })).toBe(192)
    // prefix_projection=True, encoder_hidden_size=24: embedding [3, 16], Linear(16, 24), Linear(24, 64)
    expect(count({ kind: 'prefix-tuning', numVirtualTokens: 3, prefixProjection: true, encoderHiddenSize: 24 })).toBe(2056)
  })
})
