// One question about one context, answered by a BertForQuestionAnswering folder the way
// transformers' question-answering pipeline answers it: windows of min(384, the model's
// positions) tokens with a stride of min(128, half of that), start/end logits on tfjs, then the
// pipeline's post-processing (qaAnswers: n-best spans, maxAnswerLength, the null answer when asked).
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fail } from '@tunekit/core'
import { qaAnswers, qaTrainFeatures, wordPieceEncoder, type QaAnswer, type WordPieceJson } from '@tunekit/data'
import { tf } from './engine.ts'
import { loadEncoder } from './model/encoder-load.ts'
import { qaLogits } from './model/encoder.ts'
import { qaBatch } from './objectives/qa-batch.ts'

export interface AskOptions {
  /** Answers to return, best first. @defaultValue 1 */
  topK?: number
  /** Longest answer in tokens. @defaultValue 15 (the pipeline's) */
  maxAnswerLength?: number
  /** Allow the null answer ('' when [CLS] scores above every span: SQuAD v2 models). @defaultValue false */
  handleImpossible?: boolean
}

export async function answerQuestion(dir: string, context: string, question: string, o: AskOptions = {}): Promise<QaAnswer[]> {
  const tokenizerFile = join(dir, 'tokenizer.json')
  if (!existsSync(tokenizerFile)) fail('QaAskNoTokenizer', { path: dir, value: tokenizerFile }, dir)
  const encoder = wordPieceEncoder(JSON.parse(await readFile(tokenizerFile, 'utf8')) as WordPieceJson, tokenizerFile)
  const model = await loadEncoder(dir)
  try {
    const maxLength = Math.min(384, model.config.maxPositionEmbeddings)
    const features = qaTrainFeatures([{ id: 'ask', question, context, answers: { text: [], answer_start: [] } }], encoder, { maxLength, docStride: Math.min(128, Math.floor(maxLength / 2)), stripQuestion: false })
    const logits = qaLogits(model, qaBatch(features, encoder.pad))
    const seq = logits.start.shape[1]
    const rows = (t: tf.Tensor2D): number[][] => {
      const d = t.dataSync()
      return features.map((f, i) => [...d.slice(i * seq, i * seq + f.ids.length)])
    }
    const answers = qaAnswers(context, features, rows(logits.start), rows(logits.end), { topK: o.topK ?? 1, maxAnswerLength: o.maxAnswerLength ?? 15, handleImpossible: o.handleImpossible ?? false })
    tf.dispose([logits.start, logits.end])
    return answers
  } finally {
    tf.dispose([...model.weights.values()])
  }
}
