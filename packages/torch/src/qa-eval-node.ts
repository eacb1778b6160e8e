// The qa stage's held-out scoring on torch: each held-out question windowed here as the tfjs
// qa-eval windows it (question kept as written), start/end logits of the base and the trained
// model from the worker (transformers' AutoModelForQuestionAnswering, `logits` with qa cases, one
// process for both), then the QA pipeline's post-processing (qaAnswers) and SQuAD EM/F1 here, as
// on tfjs. Writes report.json and predictions.jsonl.
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fail, inputOfKind, nodeParams, resolveModelDir, writeFileAtomic, writeJsonAtomic, type NodeContext, type QaEvalReport, type QaScore } from '@tunekit/core'
import { qaAnswers, qaTrainFeatures, wordPieceEncoder, type QaExample, type QaFeature, type QaFeaturesReport, type WordPieceJson } from '@tunekit/data'
import { squadScore } from '@tunekit/eval'
import { freshHeadTensors, readModelConfig, readSafetensors, writeSafetensors } from '@tunekit/hf'
import { callWorker } from './worker-pool.ts'

/** Runs the worker's `logits request.json`; a failure is WorkerFailed with the log's tail. */
async function runLogits(python: string, request: string): Promise<void> {
  const log: string[] = []
  const keep = (l: string): void => void log.push(l)
  const { code, spawnError } = await callWorker(python, { command: 'logits', file: request }, { onStdout: keep, onStderr: keep }).done
  if (spawnError) throw spawnError
  if (code !== 0) fail('WorkerFailed', { path: 'qa-eval' }, `the worker exited with code ${code}`, log.slice(-20).join('\n'))
}

/** The fresh QA head qa-train starts from when the base checkpoint has none (a file for the worker), else null. */
async function baseHead(ctx: NodeContext, dir: string, seed: number): Promise<string | null> {
  const tensors = freshHeadTensors(dir, await readModelConfig(dir), seed)
  if (tensors.size === 0) return null
  const file = join(ctx.workDir, 'qa-logits', 'base-head.safetensors')
  await mkdir(join(ctx.workDir, 'qa-logits'), { recursive: true })
  await writeSafetensors(file, tensors)
  return file
}

/** Each model's top answer to each question ('' for the null answer). */
async function predictions(python: string, ctx: NodeContext, models: ReadonlyArray<{ dir: string; head: string | null }>, examples: readonly QaExample[], windows: QaFeature[][], padId: number, o: { maxAnswerLength: number; handleImpossible: boolean }): Promise<string[][]> {
  const dir = join(ctx.workDir, 'qa-logits')
  await mkdir(dir, { recursive: true })
  const rows = windows.flat().map((f) => ({ ids: f.ids, typeIds: f.typeIds }))
  const outs = models.map((_, i) => join(dir, `logits-${i}.safetensors`))
  const request = join(dir, 'request.json')
  await writeFile(request, JSON.stringify({ cases: models.map((model, i) => ({ qa: true, model: model.dir, head: model.head, rows, padId, out: outs[i], device: ctx.recipe.device === 'cuda' ? 'cuda' : ctx.recipe.device === 'cpu' ? 'cpu' : 'auto' })) }))
  await runLogits(python, request)
  return Promise.all(outs.map(async (out) => {
    const t = (await readSafetensors(out)).tensors
    const seq = t.get('start')!.shape[1]!
    const row = (name: string, r: number, n: number) => [...(t.get(name)!.data as Float32Array).subarray(r * seq, r * seq + n)]
    let r = 0
    return examples.map((e, i) => {
      const fs = windows[i]!
      const starts = fs.map((f, k) => row('start', r + k, f.ids.length))
      const ends = fs.map((f, k) => row('end', r + k, f.ids.length))
      r += fs.length
      return qaAnswers(e.context, fs, starts, ends, o)[0]?.answer ?? ''
    })
  }))
}

export async function runQaEval(python: string, ctx: NodeContext): Promise<void> {
  const p = nodeParams('qa-eval', ctx.node)
  const featuresDir = inputOfKind(ctx, 'qa-features')
  const report = JSON.parse(await readFile(join(featuresDir, 'report.json'), 'utf8')) as QaFeaturesReport
  const examples = (await readFile(join(featuresDir, 'eval', 'examples.jsonl'), 'utf8')).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as QaExample)
  const tokenizerFile = join(featuresDir, 'tokenizer', 'tokenizer.json')
  const encoder = wordPieceEncoder(JSON.parse(await readFile(tokenizerFile, 'utf8')) as WordPieceJson, tokenizerFile)
  const windows = examples.map((e) => qaTrainFeatures([e], encoder, { maxLength: report.maxLength, docStride: report.docStride, stripQuestion: false }))
  const baseDir = await resolveModelDir(inputOfKind(ctx, 'model'))
  const models = [{ dir: baseDir, head: await baseHead(ctx, baseDir, p.headSeed) }, { dir: inputOfKind(ctx, 'qa-train'), head: null }]
  const gold = examples.map((e) => e.answers.text)
  const [base, trained] = await predictions(python, ctx, models, examples, windows, encoder.pad, { maxAnswerLength: p.maxAnswerLength, handleImpossible: p.version2WithNegative })
  const out: QaEvalReport = {
    metric: p.version2WithNegative ? 'squad_v2' : 'squad', questions: examples.length,
    base: squadScore(base!, gold, p.version2WithNegative), trained: squadScore(trained!, gold, p.version2WithNegative),
  }
  await writeFileAtomic(join(ctx.outDir, 'predictions.jsonl'), examples.map((e, i) => `${JSON.stringify({ id: e.id, answer: trained![i], base: base![i] })}\n`).join(''))
  await writeJsonAtomic(join(ctx.outDir, 'report.json'), out)
  const fmt = (s: QaScore) => `EM ${s.exactMatch.toFixed(1)} F1 ${s.f1.toFixed(1)}`
  ctx.emit({ type: 'log', node: ctx.node.id, level: 'info', message: `${out.metric} on ${examples.length} held-out questions: base ${fmt(out.base)} → trained ${fmt(out.trained)}` })
}
