import { errors, fail, formatIssue, hub, isTunekitError, issue, RecipeError, TunekitError } from '@tunekit/core'
import { describe, expect, it } from 'vitest'
import { recipeError } from './helpers.ts'

const base = {
  model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' },
  data: { source: hub('OpenAssistant/oasst_top1_2023-08-25'), format: 'chatml-text' },
}

describe('RecipeError', () => {
  it('rejects training embed_tokens both in full and by rows, as PEFT would', () => {
    const e = recipeError({ ...base, tokens: { chatml: true }, lora: { modulesToSave: ['embed_tokens', 'lm_head'], trainableTokens: true } })
    expect(e.message).toMatchInlineSnapshot(`
      "Recipe has 1 problem
      ✖ TK209 lora.modulesToSave holds 'embed_tokens' and lora.trainableTokens is set; PEFT refuses an adapter that trains the same embedding both ways → at lora.trainableTokens
        value: true
        fix: Keep one: lora.trainableTokens (the new rows only, a few KB) or 'embed_tokens' in lora.modulesToSave (the whole table)."
    `)
  })

  it('reports a misspelt key, a module the family lacks and a negative learning rate together', () => {
    const e = recipeError({
      ...base,
      lora: { rnak: 16, targetModules: ['q_proj', 'c_attn'] },
      args: { learningRate: -2e-4 },
    })
    expect(e.issues.map((i) => [i.code, i.path])).toEqual([
      ['TK102', 'lora.rnak'],
      ['TK103', 'args.learningRate'],
      ['TK201', 'lora.targetModules[1]'],
    ])
    expect(e.message).toMatchInlineSnapshot(`
      "Recipe has 3 problems
      ✖ TK102 unknown key "rnak" (did you mean "rank"?); allowed keys here: rank, alpha, dropout, targetModules, modulesToSave, trainableTokens, rsLora, useDora, loraplusLrRatio, init, initLoraWeights, loftqConfig → at lora.rnak
        value: 16
        fix: Check the spelling; keys are camelCase (rank, learningRate, targetModules).
      ✖ TK103 expected a number > 0 → at args.learningRate
        value: -0.0002
        fix: Pick a value inside the range; the key documentation gives typical values.
      ✖ TK201 "c_attn" is not a module of the mistral family; its modules are q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj → at lora.targetModules[1]
        value: "c_attn"
        fix: Use module names from the mistral family (the editor offers them after \`family: 'mistral'\`), or 'all-linear'."
    `)
  })

  it('reports wrong types, missing keys and unknown enum values with the value given', () => {
    const e = recipeError({
      model: { id: 'x/y', family: 'mistral', dtype: 'fp8' },
      lora: { rank: '8' },
      data: { format: 'alpaca' },
    })
    expect(e.message).toMatchInlineSnapshot(`
      "Recipe has 3 problems
      ✖ TK104 expected one of "auto", "float32", "float16", "bfloat16" → at model.dtype
        value: "fp8"
        fix: Use one of the allowed values.
      ✖ TK101 expected number, received string → at lora.rank
        value: "8"
        fix: Give a value of the expected type; hover the key in your editor to see its documentation.
      ✖ TK105 required object is missing → at data.source
        fix: Add the key; \`tunekit schema\` prints the full recipe schema."
    `)
  })

  it('reports an unknown family, and skips module checks that need one', () => {
    const e = recipeError({ ...base, model: { id: 'x/y', family: 'gpt2' }, lora: { targetModules: ['c_attn'] } })
    expect(e.issues.map((i) => `${i.code} ${i.path}`)).toEqual(['TK202 model.family'])
    expect(formatIssue(e.issues[0]!)).toMatchInlineSnapshot(`
      "✖ TK202 "gpt2" is not a known model family; known families: llama, mistral, qwen2, qwen3, gemma, gemma2, phi3, mixtral, yi, bert, llava, qwen2_vl, auto → at model.family
        value: "gpt2"
        fix: Set model.family to the architecture of the checkpoint (config.json "model_type"); for a decoder tunekit has no family for, model.family: 'auto' with backend: 'torch' trains any architecture transformers loads without remote code."
    `)
  })

  it('runs the model-aware checks on the valid parts of an invalid recipe', () => {
    const e = recipeError({
      ...base,
      model: { ...base.model, quantize: { bits: 8, type: 'nf4' } },
      tokens: { chatml: true },
      lora: { modulesToSave: ['lm_head', 'wte'] },
      data: { ...base.data, maxLength: 65536, packing: 'yes' },
    })
    expect(e.message).toMatchInlineSnapshot(`
      "Recipe has 5 problems
      ✖ TK101 expected boolean, received string → at data.packing
        value: "yes"
        fix: Give a value of the expected type; hover the key in your editor to see its documentation.
      ✖ TK201 "wte" is not a module of the mistral family; its modules are embed_tokens, lm_head → at lora.modulesToSave[1]
        value: "wte"
        fix: Use module names from the mistral family (the editor offers them after \`family: 'mistral'\`), or 'all-linear'.
      ✖ TK203 the recipe adds "<|im_start|>", "<|im_end|>" but neither embeds nor trains their embedding rows, so the new tokens keep random vectors → at lora.modulesToSave
        value: ["lm_head","wte"]
        fix: Add 'embed_tokens' and 'lm_head' to lora.modulesToSave, or set lora.trainableTokens: true to train only the new rows.
      ✖ TK206 model.quantize has bits 8 with type "nf4" → at model.quantize.type
        value: "nf4"
        fix: Use bits 4 with type 'nf4' or 'fp4', or bits 8 with type 'int8'.
      ✖ TK204 data.maxLength is 65536 but mistralai/Mistral-7B-v0.1 was trained with a context of 32768 tokens → at data.maxLength
        value: 65536
        fix: Set data.maxLength to at most 32768."
    `)
  })

  it('reports a recipe that is not an object', () => {
    expect(recipeError('mistral').message).toMatchInlineSnapshot(`
      "Recipe has 1 problem
      ✖ TK101 expected object, received string
        value: "mistral"
        fix: Give a value of the expected type; hover the key in your editor to see its documentation."
    `)
  })

  it('carries no stack frames and no issue dump, so Node prints only the text', () => {
    const e = recipeError({ ...base, args: { learningRate: -1 } })
    expect(e.stack).toBe(`RecipeError: ${e.message}`)
    expect(Object.keys(e)).not.toContain('issues')
    expect(e.issues).toHaveLength(1)
    expect(e.code).toBe('TK103')
  })
})

describe('the catalog', () => {
  it('gives every entry a unique code and a name equal to its key', () => {
    const entries = Object.entries(errors)
    expect(new Set(entries.map(([, e]) => e.code)).size).toBe(entries.length)
    for (const [key, entry] of entries) expect(entry.name).toBe(key)
  })

  it('builds issues and errors from entries', () => {
    const i = issue('MaxLengthExceedsContext', { path: 'data.maxLength', value: 9000, hintArgs: [4096] }, 9000, 4096, 'meta-llama/Llama-2-7b-hf')
    expect(i).toEqual({
      code: 'TK204',
      name: 'MaxLengthExceedsContext',
      path: 'data.maxLength',
      value: 9000,
      message: 'data.maxLength is 9000 but meta-llama/Llama-2-7b-hf was trained with a context of 4096 tokens',
      hint: 'Set data.maxLength to at most 4096.',
      severity: 'error',
    })
    expect(() => fail('StepsUnset', { path: 'args' })).toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: Training length is unset
      ✖ TK207 neither args.epochs nor args.maxSteps is a positive number → at args
        fix: Set args.epochs (e.g. 3) or args.maxSteps.]
    `)
  })

  it('recognises a TunekitError from another copy of core by its brand', () => {
    const other = new TunekitError([issue('StepsUnset', {})])
    const foreign = Object.setPrototypeOf(other, Error.prototype) as Error
    expect(foreign instanceof TunekitError).toBe(false)
    expect(isTunekitError(foreign)).toBe(true)
    expect(isTunekitError(new Error('crash'))).toBe(false)
  })
})
