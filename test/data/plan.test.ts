import { execFileSync } from 'node:child_process'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  chatTemplate, checkRows, formatChecks, loadTokenizer, makeBatchPlan, materializeBatch, readShards, splitIndices, tokenizeConversations, writeShards,
  type LoadedTokenizer, type Message, type TokenizeReport,
} from '@tunekit/data'
import { workerPython } from '../python.ts'
import { tempDir, tinyTokenizer } from './helpers.ts'

const python = workerPython()
let tmp: Awaited<ReturnType<typeof tempDir>>
let tok: LoadedTokenizer
beforeAll(async () => {
  tmp = await tempDir()
  tok = await loadTokenizer(tinyTokenizer, { chatml: true })
})
afterAll(() => tmp.done())

const opts = { batchSize: 2, gradientAccumulationSteps: 1, epochs: 1, groupByLength: false, seed: 42, shuffle: true, packing: false, maxLength: 16 }

describe('token shards', () => {
  test('numpy memory-maps ids.bin (<i4) and mask.bin (u1) and reads the same samples', async () => {
    const dir = join(tmp.dir, 'shards')
    const samples = [
      { ids: [0, 5, 70000, -1 >>> 1], mask: [0, 0, 1, 1] },
      { ids: [7, 8], mask: [0, 1] },
    ]
    const index = await writeShards(dir, samples, { stats: { samples: 2 }, eosId: 1, padId: 2, bosId: 0 })
    expect(index).toMatchObject({ format: 'tunekit-shards', version: 1, count: 2, offsets: [0, 4], lengths: [4, 2], eosId: 1, padId: 2, bosId: 0 })
    expect(index.key).toMatch(/^[0-9a-f]{64}$/)
    const script = `
import json, sys, numpy as np
d = sys.argv[1]
index = json.load(open(d + '/index.json'))
ids = np.memmap(d + '/ids.bin', dtype='<i4', mode='r')
mask = np.memmap(d + '/mask.bin', dtype='u1', mode='r')
print(json.dumps([{"ids": ids[o:o+l].tolist(), "mask": mask[o:o+l].tolist()} for o, l in zip(index["offsets"], index["lengths"])]))`
    expect(JSON.parse(execFileSync(python, ['-c', script, dir]).toString())).toEqual(samples)
    const back = await readShards(dir)
    expect([...back.ids]).toEqual(samples.flatMap((s) => s.ids))
  })
})

describe('train/eval split', () => {
  test('by ratio (ceil, as datasets) or by count, seeded, at least one train sample', () => {
    expect(splitIndices(10, { eval: 0.25, seed: 1 })).toEqual(splitIndices(10, { eval: 0.25, seed: 1 }))
    expect(splitIndices(10, { eval: 0.25, seed: 1 }).eval).toHaveLength(3)
    expect(splitIndices(10, { eval: 4, seed: 1 }).eval).toHaveLength(4)
    expect(splitIndices(10, { eval: 4, seed: 2 }).eval).not.toEqual(splitIndices(10, { eval: 4, seed: 1 }).eval)
    expect(splitIndices(1, { eval: 0.5, seed: 1 })).toEqual({ train: [0], eval: [] })
    expect(splitIndices(5, { eval: 0, seed: 1 }).train).toEqual([0, 1, 2, 3, 4])
  })
})

describe('batch plan', () => {
  const lengths = [5, 16, 3, 9, 12, 7, 2]

  test('steps per epoch follow Hugging Face: max(1, floor(micro-batches / accumulation)); maxSteps overrides', () => {
    const plan = makeBatchPlan({ lengths }, { lengths: [4, 6] }, { ...opts, gradientAccumulationSteps: 3, epochs: 2 })
    // 7 samples / batch 2 → 4 micro-batches; 4 / 3 → 1 step per epoch
    expect([plan.epochsPlan[0]!.microBatches.length, plan.stepsPerEpoch, plan.totalSteps, plan.epochsPlan.length]).toEqual([4, 1, 2, 2])
    const capped = makeBatchPlan({ lengths }, { lengths: [] }, { ...opts, maxSteps: 9 })
    expect([capped.stepsPerEpoch, capped.totalSteps, capped.epochsPlan.length]).toEqual([4, 9, 3])
    expect(makeBatchPlan({ lengths }, { lengths: [] }, { ...opts, epochs: 1.5 }).totalSteps).toBe(6)
    expect(plan.eval.microBatches).toEqual([{ length: 6, rows: [[{ sample: 0, start: 0, length: 4 }], [{ sample: 1, start: 0, length: 6 }]] }])
  })

  test('deterministic for a seed, different across epochs and seeds', () => {
    const a = makeBatchPlan({ lengths }, { lengths: [] }, { ...opts, epochs: 2 })
    expect(makeBatchPlan({ lengths }, { lengths: [] }, { ...opts, epochs: 2 })).toEqual(a)
    const order = (p: typeof a, e: number) => p.epochsPlan[e]!.microBatches.flatMap((b) => b.rows.map((r) => r[0]!.sample))
    expect(order(a, 0)).not.toEqual(order(a, 1))
    expect(order(makeBatchPlan({ lengths }, { lengths: [] }, { ...opts, seed: 7 }), 0)).not.toEqual(order(a, 0))
    expect(order(a, 0).sort()).toEqual([0, 1, 2, 3, 4, 5, 6])
  })

  test('shuffle: false keeps the samples in file order in every epoch, whatever the seed', () => {
    const plan = makeBatchPlan({ lengths }, { lengths: [] }, { ...opts, epochs: 2, shuffle: false, seed: 7 })
    const order = (e: number) => plan.epochsPlan[e]!.microBatches.flatMap((b) => b.rows.map((r) => r[0]!.sample))
    expect(order(0)).toEqual([0, 1, 2, 3, 4, 5, 6])
    expect(order(1)).toEqual([0, 1, 2, 3, 4, 5, 6])
  })

  test('groupByLength puts similar lengths together and raises padding efficiency', () => {
    const many = Array.from({ length: 64 }, (_, i) => 2 + ((i * 37) % 60))
    const plain = makeBatchPlan({ lengths: many }, { lengths: [] }, { ...opts, batchSize: 4, maxLength: 64 })
    const grouped = makeBatchPlan({ lengths: many }, { lengths: [] }, { ...opts, batchSize: 4, maxLength: 64, groupByLength: true })
    expect(grouped.paddingEfficiency).toBeGreaterThan(plain.paddingEfficiency)
    expect(grouped.paddingEfficiency).toBeGreaterThan(0.95)
  })

  test('packing: segments with their own position ids, no label across a boundary, padding never a label', async () => {
    const dir = join(tmp.dir, 'pack')
    await writeShards(dir, [{ ids: [10, 11, 12], mask: [0, 1, 1] }, { ids: [20, 21], mask: [1, 1] }, { ids: [30, 31, 32, 33], mask: [0, 0, 1, 1] }], { stats: {}, eosId: 1, padId: 1, bosId: null })
    const shards = await readShards(dir)
    const plan = makeBatchPlan({ lengths: shards.index.lengths }, { lengths: [] }, { ...opts, packing: true, maxLength: 6, batchSize: 2 })
    const batch = plan.epochsPlan[0]!.microBatches[0]!
    expect(batch.rows.map((r) => r.map((s) => `${s.sample}:${s.length}`))).toMatchInlineSnapshot(`
      [
        [
          "0:3",
        ],
        [
          "2:4",
          "1:2",
        ],
      ]
    `)
    const arrays = materializeBatch(shards, batch)
    expect({ ids: [...arrays.ids], mask: [...arrays.mask], positions: [...arrays.positions], segments: [...arrays.segments] }).toMatchInlineSnapshot(`
      {
        "ids": [
          10,
          11,
          12,
          1,
          1,
          1,
          30,
          31,
          32,
          33,
          20,
          21,
        ],
        "mask": [
          0,
          1,
          1,
          0,
          0,
          0,
          0,
          0,
          1,
          1,
          0,
          1,
        ],
        "positions": [
          0,
          1,
          2,
          0,
          0,
          0,
          0,
          1,
          2,
          3,
          0,
          1,
        ],
        "segments": [
          0,
          0,
          0,
          -1,
          -1,
          -1,
          0,
          0,
          0,
          0,
          1,
          1,
        ],
      }
    `)
  })

  test('no training sample is NoTrainingSteps', () => {
    expect(() => makeBatchPlan({ lengths: [] }, { lengths: [] }, opts)).toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: The batch plan has no step
      ✖ TK205 0 training samples with an effective batch of 2 give no optimiser step → at args.batchSize
        value: 2
        fix: Lower args.batchSize or args.gradientAccumulationSteps, or provide more data.]
    `)
  })
})

describe('maxLength policies and the checks table', () => {
  const long: Message[] = [{ role: 'user', content: 'hello' }, { role: 'assistant', content: 'the cat sat on the mat and the dog sat on the mat' }]
  const short: Message[] = long.map((m) => ({ ...m, content: 'yes' }))
  const run = async (truncation: 'truncate' | 'drop' | 'split', maxLength: number, onError: 'fail' | 'skip' = 'fail', first = long) => {
    const template = chatTemplate('chatml', { bosToken: '<s>', eosToken: tok.eos.token })
    const lengths: number[] = []
    const report = await tokenizeConversations([{ id: '0', messages: first }, { id: '1', messages: short }], tok,
      { template, maxLength, truncation, mask: 'assistant', onError }, (s) => void lengths.push(s.ids.length))
    return { report, lengths }
  }

  test('truncate keeps the first maxLength tokens, drop leaves the sample out, split cuts it into labelled pieces', async () => {
    const t = await run('truncate', 24)
    expect([t.lengths, t.report.truncated]).toEqual([[24, 14], 1])
    const d = await run('drop', 24)
    expect([d.lengths, d.report.dropped]).toEqual([[14], 1])
    const s = await run('split', 12)
    expect([s.lengths, s.report.split, s.report.splitPieces, s.report.unlabelledPieces]).toMatchInlineSnapshot(`
      [
        [
          12,
          12,
          10,
          12,
        ],
        2,
        4,
        1,
      ]
    `)
  })

  test('a sample whose labels are all cut off is FullyMasked (error, or skipped and counted)', async () => {
    await expect(run('truncate', 10)).rejects.toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: 2 problems
      ✖ TK306 2 sample(s) have every label masked (first: conversation 0 (after truncation to 10)), so they teach nothing → at data.mask
        value: "assistant"
        fix: Raise data.maxLength, use data.truncation: 'drop', or change data.mask.
      ✖ TK304 the tokenize step produced no sample → at data
        fix: Check data.source and data.format; \`tunekit plan\` shows the counts at every step.]
    `)
    // a long question leaves no room for the answer in 14 tokens; the short conversation fits
    const skipped = await run('truncate', 14, 'skip', [{ role: 'user', content: 'the cat sat on the mat and the dog sat on the mat' }, { role: 'assistant', content: 'yes' }])
    expect([skipped.report.fullyMasked, skipped.report.samples, skipped.report.skipped]).toMatchInlineSnapshot(`
      [
        1,
        1,
        [
          {
            "reason": "no supervised token in the first 14 tokens",
            "where": "conversation 0",
          },
        ],
      ]
    `)
  })

  test('the checks table', async () => {
    const { report } = await run('truncate', 24)
    expect(formatChecks(checkRows(report as TokenizeReport, { trainedTokensPerEpoch: report.trainedTokens, stepsPerEpoch: 1 }))).toMatchInlineSnapshot(`
      "✔ template renders        2/2 conversations with chatml
      ✔ text round-trips        encode → decode gives the rendered text
      ✔ eos supervised          <|im_end|> (321) ends 1 assistant turns
      ✔ no sample fully masked  mask assistant
      ⚠ length                  maxLength 24 (truncate): 1 truncated, 0 dropped, 0 split into 0; longest 24
      · samples                 2 samples, 38 tokens
      · trained tokens          15 (39.5% of tokens)
      · per epoch               15 trained tokens in 1 steps"
    `)
  })
})
