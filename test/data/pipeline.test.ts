import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { Json } from '@tunekit/core'
import { loadTokenizer, readChecks, readShards, sampleOf, type BatchPlan, type LoadedTokenizer, type Shards, type TokenizeReport } from '@tunekit/data'
import { mistralTokenizer, readJson, runDataNodes, tempDir, tinyTokenizer } from './helpers.ts'

let tmp: Awaited<ReturnType<typeof tempDir>>
let tiny: LoadedTokenizer
beforeAll(async () => {
  tmp = await tempDir()
  tiny = await loadTokenizer(tinyTokenizer, { chatml: true })
})
afterAll(() => tmp.done())

/** A sample as text: each token decoded alone (or its vocabulary piece), `|` between tokens, labels in [brackets]. */
const show = (tok: LoadedTokenizer, shards: Shards, i: number, pieces = false): string => {
  const { ids, mask } = sampleOf(shards, i)
  const text = (id: number): string => (pieces ? tok.tokenizer.id_to_token(id)! : tok.decode([id]))
  return [...ids].map((id, t) => (mask[t] ? `[${text(id)}]` : text(id))).join('|').replaceAll('\n', '⏎')
}

const chain = (source: Json, format: Json, more: { template?: Json; mask?: string; maxLength?: number; truncation?: string; tokens?: Json; eval?: number; batchSize?: number; packing?: boolean } = {}) => ({
  source: { source },
  format: { format, onError: 'fail' },
  tokenize: {
    render: { kind: 'chat', template: more.template ?? 'chatml', mask: more.mask ?? 'assistant' }, maxLength: more.maxLength ?? 64, truncation: more.truncation ?? 'truncate',
    onError: 'fail', tokens: more.tokens ?? { chatml: true, add: [], addBos: true }, family: 'llama', trainableTokens: false,
  },
  split: { split: { eval: more.eval ?? 0, seed: 42 } },
  collate: { batchSize: more.batchSize ?? 2, gradientAccumulationSteps: 1, epochs: 2, groupByLength: false, seed: 42, packing: more.packing ?? false, maxLength: more.maxLength ?? 64 },
})

let runs = 0
async function pipeline(params: ReturnType<typeof chain>, modelDir = tinyTokenizer) {
  const { dirs } = await runDataNodes(join(tmp.dir, String(runs++)), params, { modelDir })
  return {
    dirs,
    shards: await readShards(dirs.tokenize!),
    train: await readShards(join(dirs.split!, 'train')),
    plan: await readJson<BatchPlan>(join(dirs.collate!, 'plan.json')),
    report: await readJson<TokenizeReport>(join(dirs.tokenize!, 'report.json')),
  }
}

const planSummary = (plan: BatchPlan) => ({
  stepsPerEpoch: plan.stepsPerEpoch, totalSteps: plan.totalSteps, paddingEfficiency: plan.paddingEfficiency,
  epochs: plan.epochsPlan.map((e) => e.microBatches.map((b) => `${b.length}:${b.rows.map((r) => r.map((s) => s.sample).join('+')).join(',')}`).join(' ')),
})

describe('each format fixture becomes shards with exact ids, masks and batch plan (tiny tokenizer, ChatML)', () => {
  test('chatml-text: a multi-turn conversation trains its assistant turns alone', async () => {
    const r = await pipeline(chain({ kind: 'file', path: 'chatml.jsonl' }, 'chatml-text'))
    expect(r.shards.index.count).toBe(2)
    expect(show(tiny, r.shards, 0)).toMatchInlineSnapshot(`"<s>|<|im_start|>|user|⏎|what| is| t|wo| |plus| t|wo|?|<|im_end|>|⏎|<|im_start|>|a|ssistant|⏎|[four]|[<|im_end|>]|⏎"`)
    expect(show(tiny, r.shards, 1)).toMatchInlineSnapshot(`"<s>|<|im_start|>|s|ystem|⏎|be| kind|<|im_end|>|⏎|<|im_start|>|user|⏎|hello| |cat|<|im_end|>|⏎|<|im_start|>|a|ssistant|⏎|[hello]|[ dog]|[<|im_end|>]|⏎|<|im_start|>|user|⏎|t|he| |mat|?|<|im_end|>|⏎|<|im_start|>|a|ssistant|⏎|[yes]|[,]|[ t]|[he]|[ ]|[mat]|[ ]|[�]|[�]|[�]|[�]|[<|im_end|>]|⏎"`)
    expect([...sampleOf(r.shards, 0).ids]).toMatchInlineSnapshot(`
      [
        0,
        320,
        305,
        201,
        304,
        311,
        269,
        263,
        223,
        294,
        269,
        263,
        33,
        321,
        201,
        320,
        67,
        318,
        201,
        282,
        321,
        201,
      ]
    `)
    expect((await readChecks(r.dirs.tokenize!, r.dirs.collate!)).table).toMatchInlineSnapshot(`
      "✔ template renders        2/2 conversations with chatml
      ✔ text round-trips        encode → decode gives the rendered text
      ✔ eos supervised          <|im_end|> (321) ends 3 assistant turns
      ✔ no sample fully masked  mask assistant
      ✔ length                  maxLength 64 (truncate): 0 truncated, 0 dropped, 0 split into 0; longest 52
      · samples                 2 samples, 74 tokens
      · trained tokens          17 (23.0% of tokens)
      · per epoch               17 trained tokens in 1 steps"
    `)
    expect(planSummary(r.plan)).toMatchInlineSnapshot(`
      {
        "epochs": [
          "52:1,0",
          "52:1,0",
        ],
        "paddingEfficiency": 0.7115,
        "stepsPerEpoch": 1,
        "totalSteps": 2,
      }
    `)
    expect(r.report.eosChecked).toBe(3)
  })

  test('alpaca', async () => {
    const r = await pipeline(chain({ kind: 'file', path: 'alpaca.json' }, 'alpaca', { maxLength: 128 }))
    expect(show(tiny, r.shards, 1)).toMatchInlineSnapshot(`"<s>|<|im_start|>|s|ystem|⏎|be| kind|<|im_end|>|⏎|<|im_start|>|user|⏎|hello|<|im_end|>|⏎|<|im_start|>|a|ssistant|⏎|[hello]|[ ]|[world]|[<|im_end|>]|⏎|<|im_start|>|user|⏎|a|nswer| t|he| |question|⏎|is| t|he| |cat| on| t|he| |mat|?|<|im_end|>|⏎|<|im_start|>|a|ssistant|⏎|[yes]|[<|im_end|>]|⏎"`)
    expect(planSummary(r.plan)).toMatchInlineSnapshot(`
      {
        "epochs": [
          "54:1,0",
          "54:1,0",
        ],
        "paddingEfficiency": 0.7037,
        "stepsPerEpoch": 1,
        "totalSteps": 2,
      }
    `)
  })

  test('sharegpt with a tool call: last-assistant trains only the final answer', async () => {
    const r = await pipeline(chain({ kind: 'file', path: 'sharegpt.jsonl' }, 'sharegpt', { mask: 'last-assistant', maxLength: 512 }))
    expect(show(tiny, r.shards, 0)).toMatchInlineSnapshot(`"<s>|<|im_start|>|s|ystem|⏎|be| kind|<|im_end|>|⏎|<|im_start|>|user|⏎|hello|<|im_end|>|⏎|<|im_start|>|a|ssistant|⏎|hello| |world|<|im_end|>|⏎|<|im_start|>|user|⏎|what| is| t|wo| |plus| t|wo|?|<|im_end|>|⏎|<|im_start|>|a|ssistant|⏎|[four]|[<|im_end|>]|⏎"`)
    expect(show(tiny, r.shards, 1)).toMatchInlineSnapshot(`"<s>|<|im_start|>|s|ystem|⏎|#| |T|o|o|l|s|⏎|⏎|Y|o|u| |c|an| |c|a|ll| |f|u|n|c|t|ion|s| t|o| |he|l|p| answer| t|he| |user|.|⏎|⏎|T|he|i|r| s|i|g|n|at|ur|es| a|r|e| |i|ns|i|d|e| |<|t|o|o|l|s|>|<|/|t|o|o|l|s|>| |X|M|L| t|a|g|s|,| on|e| |J|S|O|N| |o|b|j|e|c|t| |p|er| |l|i|n|e|:|⏎|<|t|o|o|l|s|>|⏎|{|"|t|y|p|e|"|:| |"|f|u|n|c|t|ion|"|,| |"|f|u|n|c|t|ion|"|:| |{|"|n|a|m|e|"|:| |"|plus|"|}|}|⏎|<|/|t|o|o|l|s|>|⏎|⏎|T|o| |c|a|ll| a| |f|u|n|c|t|ion|,| |w|r|i|t|e| a| |J|S|O|N| |o|b|j|e|c|t| |w|i|t|h| |i|t|s| |n|a|m|e| a|nd| a|r|g|u|m|e|n|t|s| |i|ns|i|d|e| |<|t|o|o|l|_|c|a|ll|>|<|/|t|o|o|l|_|c|a|ll|>| |X|M|L| t|a|g|s|:|⏎|<|t|o|o|l|_|c|a|ll|>|⏎|{|"|n|a|m|e|"|:| |<|f|u|n|c|t|ion|-|n|a|m|e|>|,| |"|a|r|g|u|m|e|n|t|s|"|:| |<|a|r|g|s|-|j|s|on|-|o|b|j|e|c|t|>|}|⏎|<|/|t|o|o|l|_|c|a|ll|>|<|im_end|>|⏎|<|im_start|>|user|⏎|what| is| t|wo| |plus| four|?|<|im_end|>|⏎|<|im_start|>|a|ssistant|⏎|<|t|o|o|l|_|c|a|ll|>|⏎|{|"|n|a|m|e|"|:| |"|plus|"|,| |"|a|r|g|u|m|e|n|t|s|"|:| |{|"|a|"|:| |2|,| |"|b|"|:| |4|}|}|⏎|<|/|t|o|o|l|_|c|a|ll|>|<|im_end|>|⏎|<|im_start|>|user|⏎|<|t|o|o|l|_|r|es|p|on|s|e|>|⏎|6|⏎|<|/|t|o|o|l|_|r|es|p|on|s|e|>|<|im_end|>|⏎|<|im_start|>|a|ssistant|⏎|[t]|[he]|[ answer]|[ is]|[ ]|[6]|[<|im_end|>]|⏎"`)
  })

  test('openai messages with the alpaca template', async () => {
    const r = await pipeline(chain({ kind: 'file', path: 'openai.jsonl' }, 'openai', { template: 'alpaca', tokens: { chatml: false, add: [], addBos: true } }))
    expect(show(tiny, r.shards, 0)).toMatchInlineSnapshot(`"<s>|be| kind|⏎|⏎|#|#|#| |I|n|st|r|u|c|t|ion|:|⏎|hello|⏎|⏎|#|#|#| |R|es|p|on|s|e|:|⏎|[hello]|[ ]|[world]|[</s>]|⏎|⏎"`)
    expect(show(tiny, r.shards, 1)).toMatchInlineSnapshot(`"<s>|#|#|#| |I|n|st|r|u|c|t|ion|:|⏎|what| is| t|wo| |plus| t|wo|?|⏎|⏎|#|#|#| |R|es|p|on|s|e|:|⏎|[four]|[</s>]|⏎|⏎"`)
  })

  test('a column map over CSV, mask all', async () => {
    const r = await pipeline(chain({ kind: 'file', path: 'columns.csv' }, { kind: 'columns', system: 'system_prompt', prompt: 'question', response: 'response' }, { mask: 'all' }))
    expect(show(tiny, r.shards, 1)).toMatchInlineSnapshot(`"<s>|[<|im_start|>]|[user]|[⏎]|[a]|[ ]|["]|[qu]|[o]|[t]|[e]|[d]|["]|[ ]|[cat]|[⏎]|[on]|[ t]|[wo]|[ ]|[l]|[i]|[n]|[es]|[<|im_end|>]|[⏎]|[<|im_start|>]|[a]|[ssistant]|[⏎]|[yes]|[<|im_end|>]|[⏎]"`)
  })

  test('a dataset_info.json entry', async () => {
    const r = await pipeline(chain({ kind: 'file', path: 'lf-sharegpt.json' }, { kind: 'dataset-info', file: 'dataset_info.json', name: 'lf_sharegpt' }))
    expect(show(tiny, r.shards, 0)).toMatchInlineSnapshot(`"<s>|<|im_start|>|s|ystem|⏎|be| kind|<|im_end|>|⏎|<|im_start|>|user|⏎|hello|<|im_end|>|⏎|<|im_start|>|a|ssistant|⏎|[hello]|[ ]|[world]|[<|im_end|>]|⏎"`)
  })

  test('inline records split into train and eval by a seeded ratio, then packed', async () => {
    const words = ['the cat', 'a dog', 'hello world', 'two plus two', 'the mat', 'yes and no']
    const records = Array.from({ length: 10 }, (_, i) => ({ instruction: `${words[i % 6]} ${i}`, output: words[(i * 5) % 6]!.repeat(1 + (i % 3)) }))
    const r = await pipeline(chain({ kind: 'inline', records }, 'alpaca', { eval: 0.2, packing: true, maxLength: 64, batchSize: 2 }))
    const evalShards = await readShards(join(r.dirs.split!, 'eval'))
    expect(r.train.index.stats.sourceIndices).toMatchInlineSnapshot(`
      [
        2,
        3,
        4,
        5,
        6,
        7,
        8,
        9,
      ]
    `)
    expect(evalShards.index.stats.sourceIndices).toMatchInlineSnapshot(`
      [
        0,
        1,
      ]
    `)
    expect(planSummary(r.plan)).toMatchInlineSnapshot(`
      {
        "epochs": [
          "55:0+1,5+2 54:7+4,6+3",
          "52:4+6,1+5 54:7+2,3+0",
        ],
        "paddingEfficiency": 0.9495,
        "stepsPerEpoch": 2,
        "totalSteps": 4,
      }
    `)
    // a packed row never exceeds the sequence length and keeps whole samples
    for (const b of r.plan.epochsPlan[0]!.microBatches)
      for (const row of b.rows) expect(row.reduce((n, s) => n + s.length, 0)).toBeLessThanOrEqual(64)
  })
})

describe('Mistral v0.1 tokenizer with ChatML tokens', () => {
  test('<|im_end|> is one id (32001) and supervised at the end of every assistant turn', async () => {
    const mistral = await loadTokenizer(mistralTokenizer, { chatml: true })
    const r = await pipeline(chain({ kind: 'file', path: 'chatml.jsonl' }, 'chatml-text', { tokens: { chatml: true, add: [], addBos: true } }), mistralTokenizer)
    const { ids, mask } = sampleOf(r.shards, 0)
    expect([...ids]).toMatchInlineSnapshot(`
      [
        1,
        32000,
        2188,
        13,
        6802,
        349,
        989,
        3285,
        989,
        28804,
        32001,
        28705,
        13,
        32000,
        13892,
        13,
        14171,
        32001,
        28705,
        13,
      ]
    `)
    expect([...mask].join('')).toMatchInlineSnapshot(`"00000000000000001100"`)
    for (let i = 0; i < r.shards.index.count; i++) {
      const s = sampleOf(r.shards, i)
      const ends = [...s.ids].flatMap((id, t) => (id === 32001 ? [t] : []))
      const assistantEnds = ends.filter((t) => s.mask[t] === 1)
      expect(assistantEnds.length).toBe(i === 0 ? 1 : 2)
    }
    expect(show(mistral, r.shards, 1, true)).toMatchInlineSnapshot(`"<s>|<|im_start|>|▁system|<0x0A>|be|▁kind|<|im_end|>|▁|<0x0A>|<|im_start|>|▁user|<0x0A>|hello|▁cat|<|im_end|>|▁|<0x0A>|<|im_start|>|▁assistant|<0x0A>|[hello]|[▁dog]|[<|im_end|>]|▁|<0x0A>|<|im_start|>|▁user|<0x0A>|the|▁mat|?|<|im_end|>|▁|<0x0A>|<|im_start|>|▁assistant|<0x0A>|[yes]|[,]|[▁the]|[▁mat]|[▁]|[😀]|[<|im_end|>]|▁|<0x0A>"`)
    expect(r.shards.index).toMatchObject({ eosId: 32001, padId: 0, bosId: 1 })
    const config = await readJson<Record<string, unknown>>(join(r.dirs.tokenize!, 'tokenizer', 'tokenizer_config.json'))
    expect(config).toMatchObject({ eos_token: '<|im_end|>', pad_token: '<unk>' })
    expect(typeof config.chat_template).toBe('string')
  })

  test("mask 'all' trains every token, as the ChatML tutorial", async () => {
    const r = await pipeline(chain({ kind: 'file', path: 'chatml.jsonl' }, 'chatml-text', { mask: 'all' }), mistralTokenizer)
    const { mask } = sampleOf(r.shards, 0)
    expect([...mask].slice(1).every((m) => m === 1)).toBe(true)
  })
})
