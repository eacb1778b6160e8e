// Recipe chains (init: { recipe }) and the dpo stage's held-out pairs and resume, on tfjs with a
// tiny random model (hidden 32, 2 layers, the 322-token test tokenizer): the chained sft recipe's
// graph is part of the dpo one under `sft/` ids with its own keys (one cache for both), dpo
// trains the sft recipe's merged model, evaluates the pairs data.split holds out (TRL's eval_loss
// and eval_rewards/accuracies), and a dpo run interrupted mid-way resumes to the same adapter bytes.
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compile, defineRecipe, inline, isCached, parseRecipe, runGraph, type Recipe, type RunEvent, type TunekitError } from '@tunekit/core'
import { dataExecutors } from '@tunekit/data'
import { modelExecutor } from '@tunekit/hf'
import { createTfjsBackend } from '@tunekit/tfjs'
import { tinyTokenizer } from '../data/helpers.ts'
import { tempDir } from '../graph/helpers.ts'

const model = {
  id: 'tunekit/tiny-mistral', family: 'mistral', dtype: 'float32',
  random: { seed: 1, tokenizer: tinyTokenizer, config: { vocab_size: 320, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 128 } },
} as const
const words = ['hot', 'up', 'big', 'wet', 'fast', 'old']
const opposites = ['cold', 'down', 'small', 'dry', 'slow', 'new']
const lora = { rank: 2, alpha: 4, dropout: 0.1, targetModules: ['q_proj', 'v_proj'] } as const

const sft = defineRecipe({
  name: 'sft', model,
  data: { source: inline(words.map((w, i) => ({ prompt: `Opposite of ${w}?`, response: opposites[i]! }))), format: { kind: 'columns', prompt: 'prompt', response: 'response' }, template: 'alpaca', maxLength: 96, split: { eval: 0 } },
  lora, args: { batchSize: 3, maxSteps: 2, learningRate: 1e-2, saveEvery: 'never' },
  backend: 'tfjs', device: 'cpu',
})
const pairs = words.map((w, i) => ({ prompt: `Opposite of ${w}?`, chosen: opposites[i]!, rejected: w }))
const dpo = defineRecipe({
  name: 'dpo', init: { recipe: sft }, stage: { kind: 'dpo' },
  data: { source: inline(pairs), format: 'openai', template: 'alpaca', maxLength: 96, split: { eval: 2, seed: 0 } },
  // dropout on, so resuming must also replay the dropout masks
  lora, args: { batchSize: 2, maxSteps: 4, learningRate: 1e-2, logEvery: 1, evalEvery: 2, saveEvery: 2 },
  backend: 'tfjs', device: 'cpu', output: { merge: false },
})

const executors = { ...dataExecutors, model: modelExecutor, ...createTfjsBackend({ device: 'cpu' }).executors }
async function run(recipe: Recipe, cacheDir: string, opts: { runDir?: string; signal?: AbortSignal; onEvent?: (e: RunEvent) => void } = {}): Promise<{ events: RunEvent[]; runDir: string }> {
  const events: RunEvent[] = []
  const runDir = opts.runDir ?? tempDir('chain-run')
  await runGraph(await compile(recipe, { baseDir: cacheDir, cacheDir }), {
    recipe, cacheDir, runDir, baseDir: cacheDir, executors, ...(opts.signal ? { signal: opts.signal } : {}),
    onEvent: (e) => { events.push(e); opts.onEvent?.(e) },
  })
  return { events, runDir }
}
const ran = (events: RunEvent[]) => events.flatMap((e) => (e.type === 'node-start' ? [e.node] : []))
const adapterBytes = (runDir: string) => readFileSync(join(runDir, 'adapter', 'adapter_model.safetensors'))

describe('recipe chains', () => {
  it("include the chained recipe's nodes under its name with their keys; the model node is its merged model", async () => {
    const baseDir = tempDir('chain')
    const alone = await compile(sft, { baseDir })
    const chained = await compile(dpo, { baseDir })
    const byId = new Map(chained.nodes.map((n) => [n.id, n]))
    for (const n of alone.nodes) expect(byId.get(`sft/${n.id}`)?.key).toBe(n.key)
    expect(chained.nodes.map((n) => n.id).filter((id) => !id.startsWith('sft/'))).toEqual(['model', 'source', 'format', 'tokenize', 'ref-logprobs', 'pair-split', 'train'])
    expect(byId.get('model')).toMatchObject({ inputs: ['sft/merge'], params: { id: 'tunekit/tiny-mistral', family: 'mistral', chained: 'sft' }, reads: [] })
    expect(byId.get('train')!.inputs).toEqual(['model', 'tokenize', 'ref-logprobs', 'pair-split'])
    // model and tokens come from the chained recipe
    expect(dpo.model).toEqual(sft.model)
    expect(dpo.tokens).toEqual(sft.tokens)
    // a chained recipe that does not merge gets its merge node here, with its own params
    const unmerged = parseRecipe({ ...dpo, init: { recipe: parseRecipe({ ...sft, output: { ...sft.output, merge: false } }) } })
    const g = await compile(unmerged, { baseDir })
    expect(g.nodes.find((n) => n.id === 'sft/merge')!.inputs).toEqual(['sft/model', 'sft/train', 'sft/tokenize'])
  })

  it('refuse chains that cannot work, each with its catalog error', () => {
    const qa = { name: 'qa', model: { id: 'google-bert/bert-base-uncased', family: 'bert' }, stage: { kind: 'qa' }, method: { kind: 'full' }, data: { source: inline([{ context: 'Hot is not cold.', question: 'What is hot not?', answers: { text: ['cold'], answer_start: [11] } }]), format: 'squad', maxLength: 128 } }
    const errors = (input: unknown): string[] => {
      try {
        parseRecipe(input)
        return []
      } catch (e) {
        return (e as TunekitError).issues.map((i) => `${i.code} ${i.path}: ${i.message}`)
      }
    }
    expect(errors({ ...dpo, name: 'sft' })).toMatchInlineSnapshot(`
      [
        "TK480 init.recipe: recipe "sft" starts from itself: its chain is "sft" → "sft", and a chained recipe's nodes are named after it, so every recipe in a chain needs its own name",
      ]
    `)
    expect(errors({ ...dpo, model: { family: 'llama' }, tokens: { chatml: true } })).toMatchInlineSnapshot(`
      [
        "TK481 model.family: model.family is "llama", but the recipe it starts from ("sft") trains a "mistral" model, whose merged weights this one trains",
        "TK482 tokens.chatml: tokens.chatml is true, but the recipe it starts from ("sft") has false: its merged model's tokenizer and embeddings are built for those tokens",
      ]
    `)
    expect(errors({ ...dpo, init: { recipe: qa } })).toMatchInlineSnapshot(`
      [
        "TK483 init.recipe: init.recipe "qa" has stage "qa", whose output is not a causal language model to go on training (a reward model scores, an extractive-QA encoder finds spans)",
        "TK481 model.family: model.family is "mistral", but the recipe it starts from ("qa") trains a "bert" model, whose merged weights this one trains",
      ]
    `)
    expect(errors({ ...dpo, data: { ...dpo.data, source: { kind: 'hub', repo: 'trl-lib/ultrafeedback_binarized' }, split: { eval: 0, evalSplit: 'test' } } })).toMatchInlineSnapshot(`
      [
        "TK486 data.split.evalSplit: data.split.evalSplit "test" names the Hub dataset's own eval split, but stage "dpo" holds out pairs of its training records only (the pair-split node): that split would be ignored",
      ]
    `)
    expect(errors({ ...dpo, init: { recipe: 'sft' } })).toMatchInlineSnapshot(`
      [
        "TK485 init.recipe: init.recipe should be a recipe (what defineRecipe returns, or the recipe as an object), got string",
      ]
    `)
  })
})

describe('dpo after sft, on tfjs', () => {
  it('runs the chained sft recipe first, shares its cache, evaluates the held-out pairs, and resumes bit-exactly', async () => {
    const cacheDir = tempDir('chain-cache')
    const straight = await run(dpo, cacheDir)
    // run first, the dpo recipe ran the sft part too; the sft recipe alone then finds all of it cached
    expect(ran(straight.events).filter((id) => id.startsWith('sft/'))).toEqual(['sft/model', 'sft/source', 'sft/format', 'sft/tokenize', 'sft/split', 'sft/collate', 'sft/train', 'sft/merge'])
    expect((await compile(sft, { baseDir: cacheDir, cacheDir })).nodes.every((n) => isCached(cacheDir, n.key))).toBe(true)
    // 4 pairs train (2 steps an epoch), 2 are held out: evaluated at steps 2 and 4, with TRL's metrics
    const evals = straight.events.filter((e): e is Extract<RunEvent, { type: 'eval' }> => e.type === 'eval')
    expect(evals.map((e) => [e.step, Object.keys(e.metrics ?? {})])).toEqual([2, 4].map((s) => [s, ['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected']]))
    const held = JSON.parse(readFileSync(join(straight.runDir, 'adapter', 'eval.json'), 'utf8')) as { pairs: number; loss: number; metrics: Record<string, number> }
    expect(held.pairs).toBe(2)
    expect(held.loss).toBeCloseTo(evals[1]!.loss, 6)

    // interrupted after step 3 (checkpoint-2 on schedule, checkpoint-3 on the interrupt, as Ctrl-C loses nothing), then resumed: step 4, the same adapter bytes
    const cache = tempDir('chain-cache')
    const controller = new AbortController()
    const stop = (e: RunEvent) => { if (e.type === 'step' && e.node === 'train' && e.step === 3) controller.abort() }
    const error = await run(dpo, cache, { signal: controller.signal, onEvent: stop }).catch((e: unknown) => e)
    expect((error as TunekitError).code).toBe('TK404')
    const train = (await compile(dpo, { baseDir: cache, cacheDir: cache })).nodes.find((n) => n.id === 'train')!
    expect(readdirSync(join(cache, `${train.key}.work`))).toEqual(expect.arrayContaining(['checkpoint-2', 'checkpoint-3']))
    const resumed = await run(dpo, cache)
    const steps = (events: RunEvent[]) => events.flatMap((e) => (e.type === 'step' && e.node === 'train' ? [[e.step, e.loss]] : []))
    expect(ran(resumed.events)).toEqual(['train'])
    expect(steps(resumed.events)).toEqual(steps(straight.events).slice(3))
    expect(adapterBytes(resumed.runDir).equals(adapterBytes(straight.runDir))).toBe(true)
  })
})
