// The stage axis: each stage's graph, and the combinations of stage and data options that check refuses.
import { describe, expect, it } from 'vitest'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { compile, defineRecipe, formatPlan, inline, plan, stages, type Graph, type RecipeInput } from '@tunekit/core'
import { tempDir } from './helpers.ts'

const docs = [{ text: 'the cat sat on the mat.' }, { text: 'the dog sat on the log.' }, { text: 'the fox sat on the hill.' }]
const model = { id: 'tunekit/tiny-mistral', family: 'mistral', random: { seed: 1 } } as const

const shape = (g: Graph) => g.nodes.map((n) => [n.id, n.inputs])
const paramsOf = (g: Graph, id: string) => g.nodes.find((n) => n.id === id)!.params

describe('stages', () => {
  it('registers sft, pretrain, dpo, orpo, simpo, rm, qa, kto, grpo and ppo, keyed by kind', () => {
    expect(Object.keys(stages)).toEqual(['sft', 'pretrain', 'dpo', 'orpo', 'simpo', 'rm', 'qa', 'kto', 'grpo', 'ppo'])
    expect(Object.entries(stages).every(([k, s]) => s.kind === k)).toBe(true)
  })

  it('sft (the default): conversations through the chat template, loss on the turns the mask picks, no packing', async () => {
    const recipe = defineRecipe({ model, data: { source: inline([{ instruction: 'hi', output: 'hello' }]), format: 'alpaca', split: { eval: 0 } } })
    expect(recipe.stage).toEqual({ kind: 'sft' })
    // the family's template (mistral's chat models': mistral-instruct), the rule in graph.json
    expect([recipe.data.template, recipe.data.mask, recipe.data.packing]).toEqual(['mistral-instruct', 'assistant', false])
    const g = await compile(recipe, { baseDir: tempDir('stage') })
    expect(g.template).toEqual({ template: 'mistral-instruct', rule: "family mistral's default (its chat models' template)" })
    expect(shape(g)).toEqual([
      ['model', []], ['source', []], ['format', ['source']], ['tokenize', ['format', 'model']], ['split', ['tokenize']], ['collate', ['split']],
      ['train', ['model', 'tokenize', 'split', 'collate']], ['merge', ['model', 'train', 'tokenize']],
    ])
    expect(paramsOf(g, 'tokenize').render).toEqual({ kind: 'chat', template: 'mistral-instruct', mask: 'assistant' })
    expect(paramsOf(g, 'collate').packing).toBe(false)
  })

  it("llama's template from a local folder's config.json: llama-3 for Llama 3's vocabulary, chosen at compile; plan prints the rule", async () => {
    const dir = tempDir('llama3')
    const config = { model_type: 'llama', architectures: ['LlamaForCausalLM'], vocab_size: 128256, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 2048, rms_norm_eps: 1e-5 }
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config))
    const recipe = defineRecipe({ model: { id: dir, family: 'llama' }, data: { source: inline([{ instruction: 'hi', output: 'hello' }]), format: 'alpaca', maxLength: 64, split: { eval: 0 } } })
    expect(recipe.data.template).toBe('llama-2')
    const g = await compile(recipe, { baseDir: dir })
    expect(paramsOf(g, 'tokenize').render).toEqual({ kind: 'chat', template: 'llama-3', mask: 'assistant' })
    expect(formatPlan(plan(g, { cacheDir: join(dir, 'cache') })).split('\n').find((l) => l.startsWith('template:'))).toBe("template: llama-3 (family llama's default for Llama 3 (vocab_size 128256))")
  })

  it('pretrain: the same nodes over raw text, every token trained, packed by default; eval after train with an eval set', async () => {
    const recipe = defineRecipe({ model, stage: { kind: 'pretrain' }, data: { source: inline(docs), format: 'text', split: { eval: 1 } } })
    expect([recipe.data.template, recipe.data.mask, recipe.data.packing]).toEqual([undefined, 'all', true])
    const g = await compile(recipe, { baseDir: tempDir('stage') })
    expect(shape(g)).toEqual([
      ['model', []], ['source', []], ['format', ['source']], ['tokenize', ['format', 'model']], ['split', ['tokenize']], ['collate', ['split']],
      ['train', ['model', 'tokenize', 'split', 'collate']], ['eval', ['model', 'train', 'tokenize', 'split', 'collate']], ['merge', ['model', 'train', 'tokenize']],
    ])
    expect(paramsOf(g, 'format').format).toBe('text')
    expect(paramsOf(g, 'tokenize').render).toEqual({ kind: 'text' })
    expect(paramsOf(g, 'collate').packing).toBe(true)
    // packing can still be turned off
    const unpacked = await compile(defineRecipe({ ...(recipe as RecipeInput), data: { ...recipe.data, packing: false } } as RecipeInput), { baseDir: tempDir('stage') })
    expect(paramsOf(unpacked, 'collate').packing).toBe(false)
  })

  it('refuses a chat template, a turn mask or conversation data with pretrain, and raw text with sft, all at once', () => {
    expect(() =>
      // @ts-expect-error -- the types say it too: with pretrain, format is 'text', template never, mask 'all'
      defineRecipe({ model, stage: { kind: 'pretrain' }, data: { source: inline(docs), format: 'alpaca', template: 'llama-3', mask: 'assistant' } }),
    ).toThrowErrorMatchingInlineSnapshot(`
      [RecipeError: Recipe has 3 problems
      ✖ TK210 stage 'pretrain' trains raw text as it is, so there is nothing for data.template to render → at data.template
        value: "llama-3"
        fix: Remove data.template, or use stage: { kind: 'sft' } with conversation data.
      ✖ TK211 stage 'pretrain' trains every token of every document; data.mask 'assistant' picks turns of a conversation, which raw text has none of → at data.mask
        value: "assistant"
        fix: Remove data.mask (or set it to 'all'), or use stage: { kind: 'sft' } with conversation data.
      ✖ TK213 stage 'pretrain' trains raw text, but data.format "alpaca" gives conversations → at data.format
        value: "alpaca"
        fix: Set data.format: 'text' (a record's text field, or one document per line of a .txt file), or use stage: { kind: 'sft' }.]
    `)
    // @ts-expect-error -- format 'text' is not an sft format (the default stage)
    expect(() => defineRecipe({ model, data: { source: inline(docs), format: 'text' } })).toThrowErrorMatchingInlineSnapshot(`
      [RecipeError: Recipe has 1 problem
      ✖ TK212 data.format 'text' reads raw documents, which have no turns to fine-tune on; stage 'sft' needs conversations → at data.format
        value: "text"
        fix: Set stage: { kind: 'pretrain' } to train on raw text, or pick a conversation format ('alpaca', 'sharegpt', 'openai', 'chatml-text').]
    `)
    // mask 'all' says what pretrain does anyway: allowed
    expect(defineRecipe({ model, stage: { kind: 'pretrain' }, data: { source: inline(docs), format: 'text', mask: 'all' } }).data.mask).toBe('all')
  })

  it("dpo: pairs through the preference render, the reference's log-probabilities once, then train; beta and the loss change train's key only", async () => {
    const pairs = [{ prompt: 'hot?', chosen: 'cold', rejected: 'warm' }, { prompt: 'up?', chosen: 'down', rejected: 'up' }]
    const dpo = (stage: { beta?: number; lossType?: 'sigmoid' | 'ipo' | 'hinge' | 'robust' }) =>
      defineRecipe({ model, stage: { kind: 'dpo', ...stage }, data: { source: inline(pairs), format: 'openai' }, tokens: { chatml: true }, lora: { trainableTokens: true } })
    const recipe = dpo({})
    expect(recipe.stage).toEqual({ kind: 'dpo', beta: 0.1, lossType: 'sigmoid', labelSmoothing: 0 })
    const baseDir = tempDir('stage')
    const g = await compile(recipe, { baseDir })
    // no split or collate (the train node batches the pairs; pair-split holds some out), so no eval node either; merge as for sft
    expect(shape(g)).toEqual([
      ['model', []], ['source', []], ['format', ['source']], ['tokenize', ['format', 'model']], ['ref-logprobs', ['model', 'tokenize']],
      ['pair-split', ['tokenize']], ['train', ['model', 'tokenize', 'ref-logprobs', 'pair-split']], ['merge', ['model', 'train', 'tokenize']],
    ])
    expect(paramsOf(g, 'tokenize').render).toEqual({ kind: 'preference', template: 'chatml', maxPromptLength: 512 })
    expect(paramsOf(g, 'ref-logprobs')).toEqual({ backend: 'auto', device: 'auto', dtype: 'auto' })
    expect(paramsOf(g, 'train').objective).toEqual({ kind: 'dpo', beta: 0.1, lossType: 'sigmoid', labelSmoothing: 0 })
    // plan works on a graph without split or collate: two rows (chosen, rejected) per pair
    const p = plan(g, { cacheDir: tempDir('stage') })
    expect(p.notes).toContain('steps and tokens are unknown until the data nodes run (tunekit run --until tokenize)')
    expect(p.memory?.activations).toBeGreaterThan(0)
    const keys = (graph: Graph) => Object.fromEntries(graph.nodes.map((n) => [n.id, n.key]))
    const before = keys(g)
    for (const changed of [await compile(dpo({ beta: 0.5 }), { baseDir }), await compile(dpo({ lossType: 'ipo' }), { baseDir })]) {
      const after = keys(changed)
      expect(Object.keys(after).filter((id) => after[id] !== before[id])).toEqual(['train', 'merge'])
    }
  })

  it("orpo and simpo: pairs through the preference render, then train, with no ref-logprobs node; TRL's defaults; beta changes train's key only", async () => {
    const pairs = [{ prompt: 'hot?', chosen: 'cold', rejected: 'warm' }, { prompt: 'up?', chosen: 'down', rejected: 'up' }]
    const preference = (stage: { kind: 'orpo'; beta?: number } | { kind: 'simpo' }) =>
      defineRecipe({ model, stage, data: { source: inline(pairs), format: 'openai' }, tokens: { chatml: true }, lora: { trainableTokens: true } })
    const [orpo, simpo] = [preference({ kind: 'orpo' }), preference({ kind: 'simpo' })]
    expect([orpo.stage, simpo.stage]).toEqual([{ kind: 'orpo', beta: 0.1 }, { kind: 'simpo', beta: 0.1, simpoGamma: 0.5, cpoAlpha: 0, labelSmoothing: 0 }])
    const baseDir = tempDir('stage')
    const graphs = [await compile(orpo, { baseDir }), await compile(simpo, { baseDir })]
    for (const g of graphs) {
      expect(shape(g)).toEqual([
        ['model', []], ['source', []], ['format', ['source']], ['tokenize', ['format', 'model']], ['train', ['model', 'tokenize']], ['merge', ['model', 'train', 'tokenize']],
      ])
      expect(paramsOf(g, 'tokenize').render).toEqual({ kind: 'preference', template: 'chatml', maxPromptLength: 512 })
    }
    expect(graphs.map((g) => paramsOf(g, 'train').objective)).toEqual([orpo.stage, simpo.stage])
    const keys = (graph: Graph) => Object.fromEntries(graph.nodes.map((n) => [n.id, n.key]))
    const [before, after] = [keys(graphs[0]!), keys(await compile(preference({ kind: 'orpo', beta: 0.5 }), { baseDir }))]
    expect(Object.keys(after).filter((id) => after[id] !== before[id])).toEqual(['train', 'merge'])
  })

  it("refuses an eval group with orpo and simpo, and simpo's labelSmoothing and cpoAlpha out of range", () => {
    const pairs = [{ prompt: 'hot?', chosen: 'cold', rejected: 'warm' }]
    for (const kind of ['orpo', 'simpo'] as const) {
      expect(() => defineRecipe({ model, stage: { kind }, data: { source: inline(pairs), format: 'openai' }, eval: { metrics: ['exact'] } })).toThrow(`TK441 eval scores the assistant turns of held-out conversations, and stage "${kind}" holds out no conversations`)
    }
    expect(() => defineRecipe({ model, stage: { kind: 'simpo', labelSmoothing: 0.5, cpoAlpha: -1 }, data: { source: inline(pairs), format: 'openai' } })).toThrowErrorMatchingInlineSnapshot(`
      [RecipeError: Recipe has 2 problems
      ✖ TK103 expected a number >= 0 → at stage.cpoAlpha
        value: -1
        fix: Pick a value inside the range; the key documentation gives typical values.
      ✖ TK103 expected a number < 0.5 → at stage.labelSmoothing
        value: 0.5
        fix: Pick a value inside the range; the key documentation gives typical values.]
    `)
  })

  it('refuses an eval group with dpo, and label smoothing outside [0, 0.5)', () => {
    const pairs = [{ prompt: 'hot?', chosen: 'cold', rejected: 'warm' }]
    expect(() => defineRecipe({ model, stage: { kind: 'dpo' }, data: { source: inline(pairs), format: 'openai' }, eval: { metrics: ['exact'] } })).toThrowErrorMatchingInlineSnapshot(`
      [RecipeError: Recipe has 1 problem
      ✖ TK441 eval scores the assistant turns of held-out conversations, and stage "dpo" holds out no conversations: it trains on every preference pair → at eval
        value: {"metrics":["exact"],"examples":"all","maxNewTokens":128,...
        fix: Remove the eval group from this recipe, or score the model in an sft recipe's eval group.]
    `)
    expect(() => defineRecipe({ model, stage: { kind: 'dpo', lossType: 'robust', labelSmoothing: 0.5 }, data: { source: inline(pairs), format: 'openai' } })).toThrowErrorMatchingInlineSnapshot(`
      [RecipeError: Recipe has 1 problem
      ✖ TK103 expected a number < 0.5 → at stage.labelSmoothing
        value: 0.5
        fix: Pick a value inside the range; the key documentation gives typical values.]
    `)
  })
})
