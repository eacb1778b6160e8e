// The qa stage's held-out scoring on tfjs: each held-out question windowed as transformers'
// question-answering pipeline windows it (question kept as written), start/end logits of the
// base model and of the trained one, the pipeline's post-processing (qaAnswers), and SQuAD EM/F1
// from @tunekit/eval (v1.1, or v2.0 with version2WithNegative). Writes report.json and predictions.jsonl.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { inputOfKind, nodeParams, resolveModelDir, writeFileAtomic, writeJsonAtomic, type NodeExecutor, type QaEvalReport, type QaScore } from '@tunekit/core'
import { qaAnswers, qaTrainFeatures, wordPieceEncoder, type QaExample, type QaFeaturesReport, type WordPieceEncoder, type WordPieceJson } from '@tunekit/data'
import { squadScore } from '@tunekit/eval'
import { selectEngine, tf } from './engine.ts'
import { loadEncoder } from './model/encoder-load.ts'
import { qaLogits, type EncoderModel } from './model/encoder.ts'
import { qaBatch } from './objectives/qa-batch.ts'

interface Windowing { maxLength: number; docStride: number; maxAnswerLength: number; handleImpossible: boolean }

/** The model's top answer to each question ('' for the null answer). */
export function qaPredictions(model: EncoderModel, encoder: WordPieceEncoder, examples: readonly QaExample[], w: Windowing): string[] {
  return examples.map((e) => {
    const features = qaTrainFeatures([e], encoder, { maxLength: w.maxLength, docStride: w.docStride, stripQuestion: false })
    const logits = qaLogits(model, qaBatch(features, encoder.pad))
    const seq = logits.start.shape[1]
    const rows = (t: tf.Tensor2D): number[][] => {
      const d = t.dataSync()
      return features.map((f, i) => [...d.slice(i * seq, i * seq + f.ids.length)])
    }
    const [answer] = qaAnswers(e.context, features, rows(logits.start), rows(logits.end), { maxAnswerLength: w.maxAnswerLength, handleImpossible: w.handleImpossible })
    tf.dispose([logits.start, logits.end])
    return answer?.answer ?? ''
  })
}

async function scoreModel(dir: string, encoder: WordPieceEncoder, examples: readonly QaExample[], w: Windowing, headSeed?: number): Promise<string[]> {
  const model = await loadEncoder(dir, { headSeed })
  try {
    return qaPredictions(model, encoder, examples, w)
  } finally {
    tf.dispose([...model.weights.values()])
  }
}

export const qaEvalExecutor: NodeExecutor = async (ctx) => {
  const p = nodeParams('qa-eval', ctx.node)
  await selectEngine(p.device)
  const featuresDir = inputOfKind(ctx, 'qa-features')
  const report = JSON.parse(await readFile(join(featuresDir, 'report.json'), 'utf8')) as QaFeaturesReport
  const examples = (await readFile(join(featuresDir, 'eval', 'examples.jsonl'), 'utf8')).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as QaExample)
  const tokenizerFile = join(featuresDir, 'tokenizer', 'tokenizer.json')
  const encoder = wordPieceEncoder(JSON.parse(await readFile(tokenizerFile, 'utf8')) as WordPieceJson, tokenizerFile)
  const w: Windowing = { maxLength: report.maxLength, docStride: report.docStride, maxAnswerLength: p.maxAnswerLength, handleImpossible: p.version2WithNegative }
  const base = await scoreModel(await resolveModelDir(inputOfKind(ctx, 'model')), encoder, examples, w, p.headSeed)
  const trained = await scoreModel(inputOfKind(ctx, 'qa-train'), encoder, examples, w)
  const gold = examples.map((e) => e.answers.text)
  const out: QaEvalReport = {
    metric: p.version2WithNegative ? 'squad_v2' : 'squad', questions: examples.length,
    base: squadScore(base, gold, p.version2WithNegative), trained: squadScore(trained, gold, p.version2WithNegative),
  }
  await writeFileAtomic(join(ctx.outDir, 'predictions.jsonl'), examples.map((e, i) => `${JSON.stringify({ id: e.id, answer: trained[i], base: base[i] })}\n`).join(''))
  await writeJsonAtomic(join(ctx.outDir, 'report.json'), out)
  const fmt = (s: QaScore) => `EM ${s.exactMatch.toFixed(1)} F1 ${s.f1.toFixed(1)}`
  ctx.emit({ type: 'log', node: ctx.node.id, level: 'info', message: `${out.metric} on ${examples.length} held-out questions: base ${fmt(out.base)} → trained ${fmt(out.trained)}` })
}
