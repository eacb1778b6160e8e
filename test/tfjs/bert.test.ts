// The tfjs BERT encoder against transformers: a random BertForQuestionAnswering saved by
// transformers, loaded by tunekit, gives the same start and end logits on a padded batch of
// question/context rows (token types 0/1, padding keys masked). One Python process.
import { execFileSync } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { tf } from '../../packages/tfjs/src/engine.ts'
import { qaLogits, type EncoderBatch } from '../../packages/tfjs/src/model/encoder.ts'
import { loadEncoder } from '../../packages/tfjs/src/model/encoder-load.ts'
import { workerPython } from '../python.ts'
import { maxAbsDiff, tmp, useEngine } from './helpers.ts'

beforeAll(async () => {
  await useEngine()
})

const config = { vocab_size: 120, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128, max_position_embeddings: 40, type_vocab_size: 2 }
const seq = 16
// Row 0: 16 real tokens; row 1: 11 real tokens then 5 of padding (id 0, mask 0).
const rows = [
  { ids: Array.from({ length: seq }, (_, i) => (i * 37 + 11) % 120), question: 6, real: seq },
  { ids: Array.from({ length: seq }, (_, i) => (i < 11 ? (i * 53 + 5) % 120 : 0)), question: 4, real: 11 },
]
const types = rows.map((r) => r.ids.map((_, i) => (i >= r.question && i < r.real ? 1 : 0)))
const mask = rows.map((r) => r.ids.map((_, i) => (i < r.real ? 1 : 0)))

describe('the bert encoder', () => {
  it("gives transformers' BertForQuestionAnswering start and end logits", async () => {
    const dir = await tmp()
    const request = { config, seed: 5, std: 0.2, ids: rows.map((r) => r.ids), types, mask }
    const ref = JSON.parse(execFileSync(workerPython(), [join(import.meta.dirname, 'bert_reference.py'), dir], { input: JSON.stringify(request), encoding: 'utf8', env: { ...process.env, TRANSFORMERS_VERBOSITY: 'error' } })) as { start: number[]; end: number[] }
    const model = await loadEncoder(dir)
    const batch: EncoderBatch = { batch: 2, seq, ids: Int32Array.from(rows.flatMap((r) => r.ids)), typeIds: Int32Array.from(types.flat()), attentionMask: Int32Array.from(mask.flat()) }
    const out = qaLogits(model, batch)
    const start = out.start.dataSync()
    const end = out.end.dataSync()
    const spread = Math.max(...ref.start) - Math.min(...ref.start)
    const delta = Math.max(maxAbsDiff(start, ref.start), maxAbsDiff(end, ref.end))
    console.log(`bert logits: max |Δ| ${delta.toExponential(2)} (logit spread ${spread.toFixed(2)})`)
    expect(spread).toBeGreaterThan(1) // logits far from constant, so the comparison means something
    expect(delta).toBeLessThan(1e-5)
    // padding changes nothing for the real tokens: row 1 alone, unpadded, gives the same logits
    const alone = qaLogits(model, { batch: 1, seq: 11, ids: Int32Array.from(rows[1]!.ids.slice(0, 11)), typeIds: Int32Array.from(types[1]!.slice(0, 11)), attentionMask: new Int32Array(11).fill(1) })
    expect(maxAbsDiff(alone.start.dataSync(), start.slice(seq, seq + 11))).toBeLessThan(1e-5)
    tf.dispose([out.start, out.end, alone.start, alone.end, ...model.weights.values()])
    await rm(dir, { recursive: true, force: true })
  })
})
