// The qa-features node's work: SQuAD records (source's records.jsonl: SQuAD articles with
// `paragraphs`, or flat question records) → checked examples → held-out contexts → training
// windows with start/end labels (run_qa.py's prepare_train_features) in features.jsonl. Scoring
// re-windows the held-out questions itself (the QA pipeline keeps the question's whitespace).
import { cp, mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fail, mulberry32, writeJsonAtomic } from '@tunekit/core'
import type { RecordLine } from '../sources/run-source.ts'
import { wordPieceEncoder, type WordPieceJson } from '../tokenizer/wordpiece.ts'
import { jsonLinesWriter, readJsonLines } from '../util/lines.ts'
import { qaTrainFeatures } from './qa-features.ts'
import { readQaExamples, type QaExample, type SquadVersion } from './squad-records.ts'

/** One line of `train/features.jsonl`: a window's inputs and labels (ids, token types, start/end token). */
export interface QaFeatureLine {
  exampleId: string
  ids: number[]
  typeIds: number[]
  startPosition: number
  endPosition: number
}

/** `report.json` of qa-features. */
export interface QaFeaturesReport {
  version: SquadVersion
  questions: number
  trainQuestions: number
  evalQuestions: number
  trainWindows: number
  maxLength: number
  docStride: number
}

/** Every record as one examples list: articles through SQuAD's JSON shape, flat records as they are. */
async function readExamples(recordsFile: string, version: SquadVersion): Promise<QaExample[]> {
  const articles: unknown[] = []
  const flat: unknown[] = []
  for await (const item of readJsonLines<RecordLine>(recordsFile)) {
    if ('error' in item) fail('BadQaRecord', { path: 'data.source', value: item.line }, `record ${item.line}`, item.error)
    ;(Array.isArray(item.record['paragraphs']) ? articles : flat).push(item.record)
  }
  const examples: QaExample[] = []
  if (articles.length > 0) examples.push(...readQaExamples({ data: articles }, 'data', version).examples)
  if (flat.length > 0) examples.push(...readQaExamples(flat, 'records', version).examples)
  if (examples.length === 0) fail('EmptyDataset', { path: 'data.source' }, 'qa-features')
  return examples
}

/**
 * Held-out questions, by context: every question of a held-out context is held out, so that no
 * scored context was seen in training. `share` is a ratio in (0, 1) or a count of questions (at
 * least, whole contexts are taken until it is reached); seeded Fisher–Yates over the contexts.
 */
export function splitByContext(examples: readonly QaExample[], share: number, seed: number): { train: QaExample[]; eval: QaExample[] } {
  const contexts = [...new Set(examples.map((e) => e.context))]
  const rand = mulberry32(seed)
  for (let i = contexts.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[contexts[i], contexts[j]] = [contexts[j]!, contexts[i]!]
  }
  const want = share === 0 ? 0 : share < 1 ? Math.max(1, Math.round(share * examples.length)) : share
  const held = new Set<string>()
  let count = 0
  for (const c of contexts) {
    if (count >= want) break
    held.add(c)
    count += examples.filter((e) => e.context === c).length
  }
  return { train: examples.filter((e) => !held.has(e.context)), eval: examples.filter((e) => held.has(e.context)) }
}

export interface RunQaFeaturesOptions {
  maxLength: number
  docStride: number
  version2WithNegative: boolean
  split: { eval: number; seed: number }
}

/** Writes `train/features.jsonl`, `eval/examples.jsonl`, `tokenizer/` and `report.json` into `outDir`. */
export async function runQaFeatures(sourceDir: string, modelDir: string, outDir: string, o: RunQaFeaturesOptions): Promise<QaFeaturesReport> {
  const version: SquadVersion = o.version2WithNegative ? '2.0' : '1.1'
  const examples = await readExamples(join(sourceDir, 'records.jsonl'), version)
  const tokenizerFile = join(modelDir, 'tokenizer.json')
  const encoder = wordPieceEncoder(JSON.parse(await readFile(tokenizerFile, 'utf8')) as WordPieceJson, tokenizerFile)
  const { train, eval: held } = splitByContext(examples, o.split.eval, o.split.seed)
  if (train.length === 0) fail('EmptyDataset', { path: 'data.split.eval', value: o.split.eval }, 'qa-features (every question held out)')
  const features = qaTrainFeatures(train, encoder, { maxLength: o.maxLength, docStride: o.docStride })
  await mkdir(join(outDir, 'train'), { recursive: true })
  await mkdir(join(outDir, 'eval'), { recursive: true })
  const out = jsonLinesWriter(join(outDir, 'train', 'features.jsonl'))
  for (const f of features) await out.write({ exampleId: f.exampleId, ids: f.ids, typeIds: f.typeIds, startPosition: f.startPosition, endPosition: f.endPosition } satisfies QaFeatureLine)
  await out.close()
  const ev = jsonLinesWriter(join(outDir, 'eval', 'examples.jsonl'))
  for (const e of held) await ev.write(e)
  await ev.close()
  await mkdir(join(outDir, 'tokenizer'), { recursive: true })
  for (const name of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt']) {
    await cp(join(modelDir, name), join(outDir, 'tokenizer', name)).catch(() => undefined)
  }
  const report: QaFeaturesReport = { version, questions: examples.length, trainQuestions: train.length, evalQuestions: held.length, trainWindows: features.length, maxLength: o.maxLength, docStride: o.docStride }
  await writeJsonAtomic(join(outDir, 'report.json'), report)
  return report
}
