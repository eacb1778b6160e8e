import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { compile, methods, parseRecipe, type MethodDefinition, type Recipe } from '@tunekit/core'

const root = fileURLToPath(new URL('../../', import.meta.url))
const tsFiles = (dir: string): string[] => readdirSync(join(root, dir)).filter((f) => f.endsWith('.ts')).map((f) => join(dir, f))

// Every shipped recipe and every template recipe: the files a user runs or starts from.
const files = [...tsFiles('recipes'), ...tsFiles('recipes/methods'), 'templates/recipe.ts', ...tsFiles('templates/package/src/recipes')]

describe.each(files)('%s', (file) => {
  it('exports a valid recipe that compiles to a graph ending in train and merge unless output.merge is false or the method cannot merge (qa: qa-train and qa-eval)', async () => {
    const { recipe } = (await import(pathToFileURL(join(root, file)).href)) as { recipe: Recipe }
    // Validating again gives the same recipe: defaults were filled in and nothing is left to fix.
    expect(parseRecipe(recipe)).toEqual(recipe)
    const graph = await compile(recipe, { baseDir: dirname(join(root, file)) })
    const ids = graph.nodes.map((n) => n.id)
    for (const node of graph.nodes) expect(node.key).toMatch(/^[0-9a-f]{64}$/)
    // Extractive QA (recipes/faq-qa.ts) has its own nodes: windows, training, held-out EM/F1.
    if (recipe.stage.kind === 'qa') return void expect(ids).toEqual(['model', 'source', 'qa-features', 'qa-train', 'qa-eval'])
    // A chained recipe's nodes (init.recipe: recipes/opposites-dpo.ts, opposites-rm.ts) come first, under its name, with that recipe's keys.
    const chained = recipe.init ? (recipe.init.recipe as Recipe) : undefined
    // ppo's reward model (an rm recipe) joins the graph the same way, after the chained recipe's nodes.
    const rewardModel = recipe.stage.kind === 'ppo' && typeof recipe.stage.rewardModel !== 'string' ? (recipe.stage.rewardModel as unknown as Recipe) : undefined
    const included = [chained, rewardModel].filter((r): r is Recipe => r !== undefined)
    const expected: string[] = []
    for (const r of included) expected.push(...(await compile(r, { baseDir: dirname(join(root, file)) })).nodes.map((n) => `${r.name}/${n.id}`))
    if (chained) expect(ids.filter((id) => id.includes('/'))).toEqual(expected)
    const own = ids.filter((id) => !id.includes('/'))
    // A reward model trains on pairs, batched by train itself: no split or collate.
    if (recipe.stage.kind === 'rm') return void expect(own).toEqual(['model', 'source', 'format', 'tokenize', 'train', 'merge'])
    // A preference stage batches its pairs itself: no split or collate, pair-split holds some out.
    // GRPO samples its completions online from the prompts: no split, collate or reference node.
    // PPO samples online too, and reads its reward model's train node.
    if (recipe.stage.kind === 'grpo' || recipe.stage.kind === 'ppo') expect(own.slice(0, 5)).toEqual(['model', 'source', 'format', 'tokenize', 'train'])
    else if (recipe.stage.kind === 'dpo') expect(own.slice(0, 7)).toEqual(['model', 'source', 'format', 'tokenize', 'ref-logprobs', 'pair-split', 'train'])
    // The eval chain (eval-source → eval-format → eval-tokenize) exists only with data.split.evalSplit.
    else expect(own.filter((id) => !id.startsWith('eval-')).slice(0, 6)).toEqual(['model', 'source', 'format', 'tokenize', 'split', 'collate'])
    if (recipe.data.split.evalSplit !== undefined) expect(graph.nodes.find((n) => n.id === 'split')!.inputs).toEqual(['tokenize', 'eval-tokenize'])
    expect(ids).toContain('train')
    // prompt, P- and prefix tuning and LLaMA Pro cannot be merged, and recipes/methods/ beside LoRA
    // sample the base with the artifact applied: their recipes have no merge node
    const merges = (methods[recipe.method.kind] as MethodDefinition).mergeable !== false && recipe.output.merge
    if (merges) expect(ids).toContain('merge')
    else expect(ids).not.toContain('merge')
    for (const node of graph.nodes) expect(node.key).toMatch(/^[0-9a-f]{64}$/)
  })
})

it('covers the shipped recipes', () => {
  expect(files).toEqual(expect.arrayContaining(['recipes/mistral-oasst.ts', 'recipes/llama2-oasst.ts', 'recipes/tiny-chat.ts', 'recipes/opposites-dpo.ts', 'recipes/hotel-tools.ts', 'recipes/methods/dora.ts', 'recipes/methods/p-tuning.ts', 'recipes/methods/prefix-tuning.ts']))
})

describe('the shipped 7B recipes follow the qlora-minimal tutorial', () => {
  it.each([
    ['recipes/mistral-oasst.ts', 'mistralai/Mistral-7B-v0.1', 'mistral'],
    ['recipes/llama2-oasst.ts', 'meta-llama/Llama-2-7b-hf', 'llama'],
  ])('%s', async (file, id, family) => {
    const { recipe } = (await import(pathToFileURL(join(root, file)).href)) as { recipe: Recipe }
    expect(recipe).toMatchObject({
      model: { id, family, dtype: 'bfloat16', quantize: { bits: 4, type: 'nf4', computeDtype: 'bfloat16' } },
      tokens: { chatml: true, pad: '</s>' },
      lora: {
        rank: 64, alpha: 16, dropout: 0.1,
        targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
        modulesToSave: ['lm_head', 'embed_tokens'],
      },
      data: { source: { kind: 'hub', repo: 'OpenAssistant/oasst_top1_2023-08-25' }, format: 'chatml-text', maxLength: 512, split: { evalSplit: 'test' } },
      args: {
        batchSize: 16, gradientAccumulationSteps: 1, epochs: 3, learningRate: 2e-4, lrScheduler: 'constant',
        optimizer: 'paged_adamw_32bit', groupByLength: true, evalEvery: 'epoch', saveEvery: 'epoch',
      },
    })
    expect(recipe.args.maxSteps).toBeUndefined()
  })
})
