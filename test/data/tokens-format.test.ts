// data.format 'tokens': pre-tokenized records go to the shards as they are, in file order with
// args.shuffle false; every check names the record.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parquetWriteFile } from 'hyparquet-writer'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { inline, isTunekitError, type Json } from '@tunekit/core'
import { readShards, sampleOf, type BatchPlan } from '@tunekit/data'
import { recipeError } from '../core/helpers.ts'
import { readJson, runDataNodes, tempDir, tinyTokenizer } from './helpers.ts'

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => (tmp = await tempDir()))
afterAll(() => tmp.done())

const chain = (records: Json[] | string[], onError: 'fail' | 'skip' = 'fail') => ({
  source: { source: (typeof records[0] === 'string' ? { kind: 'file', path: records } : { kind: 'inline', records }) as Json },
  format: { format: 'tokens', onError },
  tokenize: { render: { kind: 'tokens' }, maxLength: 64, truncation: 'truncate', onError, tokens: { chatml: false, add: [], addBos: true }, family: 'llama', trainableTokens: false },
  split: { split: { eval: 0, seed: 42 } },
  collate: { batchSize: 1, gradientAccumulationSteps: 1, epochs: 2, groupByLength: false, seed: 42, shuffle: false, packing: false, maxLength: 64 },
})

let runs = 0
const run = (records: Json[] | string[], onError: 'fail' | 'skip' = 'fail') => runDataNodes(join(tmp.dir, String(runs++)), chain(records, onError), { modelDir: tinyTokenizer, baseDir: tmp.dir })
const samplesOf = async (dir: string) => {
  const shards = await readShards(dir)
  return Array.from({ length: shards.index.count }, (_, i) => sampleOf(shards, i)).map((s) => ({ ids: [...s.ids], mask: [...s.mask] }))
}
const failure = (records: Json[]) => run(records).then(() => 'no error', (e: unknown) => (isTunekitError(e) ? e.message : e))

describe("data.format 'tokens'", () => {
  test('labels (-100 masked), a 0/1 mask and an attention_mask become the shards as given, in file order', async () => {
    const { dirs } = await run([
      { input_ids: [5, 6, 7, 8], labels: [-100, -100, 7, 8] },
      { input_ids: [9, 10, 11], mask: [0, 1, 1] },
      { input_ids: [12, 13, 14, 0, 0], attention_mask: [1, 1, 1, 0, 0] },
      { input_ids: [15, 16, 17, 0], labels: [-100, 16, 17, -100], attention_mask: [1, 1, 1, 0] },
    ])
    expect(await samplesOf(dirs.tokenize!)).toEqual([
      { ids: [5, 6, 7, 8], mask: [0, 0, 1, 1] },
      { ids: [9, 10, 11], mask: [0, 1, 1] },
      { ids: [12, 13, 14], mask: [1, 1, 1] },
      { ids: [15, 16, 17], mask: [0, 1, 1] },
    ])
    const plan = await readJson<BatchPlan>(join(dirs.collate!, 'plan.json'))
    expect(plan.epochsPlan.map((e) => e.microBatches.map((b) => b.rows[0]![0]!.sample))).toEqual([[0, 1, 2, 3], [0, 1, 2, 3]])
  })

  test('jsonl, json and parquet (list<int64> columns, as datasets saves them) read the same', async () => {
    const records = [{ input_ids: [5, 6, 7], labels: [-100, 6, 7] }, { input_ids: [8, 9], labels: [-100, 9] }]
    writeFileSync(join(tmp.dir, 'a.jsonl'), records.map((r) => JSON.stringify(r)).join('\n'))
    writeFileSync(join(tmp.dir, 'b.json'), JSON.stringify(records))
    // the Parquet LIST layout: <name> (LIST) → list (REPEATED) → element (INT64)
    const list = (name: string) => [
      { name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      { name: 'element', type: 'INT64', repetition_type: 'OPTIONAL' },
    ] as const
    const big = (key: 'input_ids' | 'labels') => records.map((r) => r[key].map(BigInt))
    parquetWriteFile({
      filename: join(tmp.dir, 'c.parquet'),
      columnData: [{ name: 'input_ids', data: big('input_ids') }, { name: 'labels', data: big('labels') }],
      schema: [{ name: 'root', num_children: 2 }, ...list('input_ids'), ...list('labels')],
    })
    const want = [{ ids: [5, 6, 7], mask: [0, 1, 1] }, { ids: [8, 9], mask: [0, 1] }]
    for (const f of ['a.jsonl', 'b.json', 'c.parquet']) expect(await samplesOf((await run([f])).dirs.tokenize!), f).toEqual(want)
  })

  test('labels of another length, an all-masked record, an id outside the vocabulary and a shifted label name the record', async () => {
    expect(await failure([{ input_ids: [5, 6, 7], labels: [5, 6] }])).toMatchInlineSnapshot(`
      "A pre-tokenized record has labels of another length
      ✖ TK350 inline records record 1: labels has 2 entries but input_ids has 3; they are read position by position → at data.format
        value: "inline records record 1"
        fix: Write one label per input id (-100 where the token carries no loss), or set data.onError: 'skip' to skip such records (each one is reported)."
    `)
    expect(await failure([{ input_ids: [5, 6, 7], labels: [5, -100, -100] }])).toMatchInlineSnapshot(`
      "A pre-tokenized record has no label
      ✖ TK352 inline records record 1: every position after the first is masked in labels (position 0 predicts nothing), so the record carries no loss → at data.format
        value: "inline records record 1"
        fix: Leave the answer's tokens unmasked (labels equal to input_ids there), drop the record, or set data.onError: 'skip'."
    `)
    expect(await failure([{ input_ids: [5, 6, 7], labels: [-100, 6, 7] }, { input_ids: [5, 99999, 7], mask: [0, 1, 1] }])).toMatchInlineSnapshot(`
      "A pre-tokenized record holds an id outside the vocabulary
      ✖ TK351 inline records record 2: input_ids[1] is 99999, but the model's vocabulary has ids 0 to 319 → at data.format
        value: "inline records record 2"
        fix: Tokenize the records with this model's tokenizer (the ids differ between tokenizers), or set data.onError: 'skip' to skip such records."
    `)
    expect(await failure([{ input_ids: [5, 6, 7], labels: [6, 7, -100] }])).toMatchInlineSnapshot(`
      "A data record cannot be used
      ✖ TK303 inline records record 1: labels[0] is 6, neither -100 nor input_ids[0] (5); tunekit shifts labels itself, so write them unshifted, as transformers does → at data.format
        value: "inline records record 1"
        fix: Fix the record, or set data.onError: 'skip' to skip bad records (each one is reported)."
    `)
  })

  test("onError 'skip' leaves bad records out and reports each", async () => {
    const { dirs, events } = await run([{ input_ids: [5, 6, 7], labels: [5, 6] }, { input_ids: [5, 6, 7], labels: [-100, 6, 7] }, { input_ids: [5, 99999], mask: [0, 1] }], 'skip')
    expect((await readShards(dirs.tokenize!)).index.count).toBe(1)
    expect(events.flatMap((e) => (e.type === 'log' && e.level === 'warn' ? [e.message] : []))).toMatchInlineSnapshot(`
      [
        "skipped inline records record 1: labels has 2 entries but input_ids has 3",
      ]
    `)
    expect((await readJson<{ skipped: unknown[] }>(join(dirs.tokenize!, 'report.json'))).skipped).toMatchInlineSnapshot(`
      [
        {
          "reason": "input_ids[1] is 99999, outside the vocabulary (320 ids)",
          "where": "inline records record 3",
        },
      ]
    `)
  })

  test('a template or a mask beside them is an error: the records carry their own labels', () => {
    const err = recipeError({ model: { id: 'm', family: 'llama' }, data: { source: inline([{ input_ids: [1, 2], labels: [1, 2] }]), format: 'tokens', template: 'chatml', mask: 'assistant' } })
    expect(err.message).toMatchInlineSnapshot(`
      "Recipe has 2 problems
      ✖ TK240 data.format 'tokens' reads records that are already token ids with their own labels, so data.template has nothing to render or pick → at data.template
        value: "chatml"
        fix: Remove data.template: the records' labels (-100 where masked) or mask field say which tokens carry loss.
      ✖ TK240 data.format 'tokens' reads records that are already token ids with their own labels, so data.mask has nothing to render or pick → at data.mask
        value: "assistant"
        fix: Remove data.mask: the records' labels (-100 where masked) or mask field say which tokens carry loss."
    `)
  })
})
