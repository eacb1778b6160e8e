// The rm stage's graph (no reference, no split or collate), the head it adds to LoRA's saved
// modules, and the recipes check refuses (a method other than LoRA, decoder outputs, an eval group).
import { describe, expect, it } from 'vitest'
import { compile, defineRecipe, inline, type Graph, type RecipeInput } from '@tunekit/core'
import { tempDir } from './helpers.ts'

const model = { id: 'tunekit/tiny-mistral', family: 'mistral', random: { seed: 1 } } as const
const pairs = [{ prompt: 'The opposite of hot?', chosen: 'cold', rejected: 'warm' }]
const rm = (over: Partial<RecipeInput<'mistral', 'rm'>> = {}) => defineRecipe({ model, stage: { kind: 'rm' }, data: { source: inline(pairs), format: 'openai' }, ...over })
const paramsOf = (g: Graph, id: string) => g.nodes.find((n) => n.id === id)!.params

describe('the rm stage', () => {
  it('is model, source, format, tokenize, train and merge; LoRA saves the head score (PEFT SEQ_CLS) without the recipe listing it', async () => {
    const recipe = rm()
    expect([recipe.data.template, recipe.data.mask, recipe.data.packing]).toEqual(['mistral-instruct', 'assistant', false])
    const baseDir = tempDir('rm-stage')
    const g = await compile(recipe, { baseDir })
    expect(g.nodes.map((n) => [n.id, n.inputs])).toEqual([
      ['model', []], ['source', []], ['format', ['source']], ['tokenize', ['format', 'model']], ['train', ['model', 'tokenize']], ['merge', ['model', 'train', 'tokenize']],
    ])
    expect(paramsOf(g, 'tokenize').render).toEqual({ kind: 'preference', template: 'mistral-instruct', maxPromptLength: 512 })
    expect(paramsOf(g, 'train').objective).toEqual({ kind: 'rm' })
    expect(paramsOf(g, 'train').method).toMatchObject({ kind: 'lora', modulesToSave: ['score'] })
    expect(recipe.lora.modulesToSave).toEqual([])
    // the centering coefficient is the objective's: it re-runs train (and merge) only
    const keys = (graph: Graph) => Object.fromEntries(graph.nodes.map((n) => [n.id, n.key]))
    const before = keys(g)
    const after = keys(await compile(rm({ stage: { kind: 'rm', centerRewardsCoefficient: 0.01 } }), { baseDir }))
    expect(Object.keys(after).filter((id) => after[id] !== before[id])).toEqual(['train', 'merge'])
  })

  it('refuses full fine-tuning (freeze likewise), generated samples and GGUF, and an eval group', () => {
    expect(() => rm({ method: { kind: 'full' } })).toThrowErrorMatchingInlineSnapshot(`
      [RecipeError: Recipe has 1 problem
      ✖ TK460 stage 'rm' trains LoRA adapters with the reward head score saved beside them (PEFT's SEQ_CLS), not method "full" → at method.kind
        value: "full"
        fix: Use LoRA (the default method); full fine-tuning and freeze of a reward model are not built yet.]
    `)
    expect(() => rm({ output: { samples: ['The opposite of up?'], gguf: ['q8_0'] } })).toThrowErrorMatchingInlineSnapshot(`
      [RecipeError: Recipe has 2 problems
      ✖ TK461 output.samples needs a causal LM (it generates text or exports for llama.cpp), and stage 'rm' trains a reward model (a sequence classifier with one score) → at output.samples
        value: ["The opposite of up?"]
        fix: Remove output.samples; score pairs with rewardAccuracy from tunekit (the backends' rewards request), or load the merged folder with AutoModelForSequenceClassification.
      ✖ TK461 output.gguf needs a causal LM (it generates text or exports for llama.cpp), and stage 'rm' trains a reward model (a sequence classifier with one score) → at output.gguf
        value: ["q8_0"]
        fix: Remove output.gguf; score pairs with rewardAccuracy from tunekit (the backends' rewards request), or load the merged folder with AutoModelForSequenceClassification.]
    `)
    expect(() => rm({ eval: { metrics: ['exact'] } })).toThrowErrorMatchingInlineSnapshot(`
      [RecipeError: Recipe has 1 problem
      ✖ TK441 eval scores the assistant turns of held-out conversations, and stage "rm" holds out no conversations: it trains on every preference pair → at eval
        value: {"metrics":["exact"],"examples":"all","maxNewTokens":128,...
        fix: Remove the eval group from this recipe, or score the model in an sft recipe's eval group.]
    `)
  })
})
