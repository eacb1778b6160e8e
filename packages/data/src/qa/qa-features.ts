// Training features of extractive QA, as transformers' run_qa.py `prepare_train_features` makes
// them with a fast tokenizer (`truncation="only_second"`, `return_overflowing_tokens=True`,
// `stride=doc_stride`): a context longer than the room beside its question is cut into
// overlapping windows, and each window gets the start and end token of the (first) answer, or the
// [CLS] index when the question has no answer or the answer is not wholly inside that window.
//
// Windows, as tokenizers' `Encoding::truncate` cuts the context's tokens: room = maxLength −
// question tokens − 3 ([CLS], [SEP], [SEP]); windows start at 0, room − docStride, 2(room −
// docStride), … and the last one is the first that reaches the context's end.
import { issue, TunekitError, type Issue } from '@tunekit/core'
import type { WordPieceEncoder } from '../tokenizer/wordpiece.ts'
import type { QaExample } from './squad-records.ts'

/** One window of one question: the model's inputs, the offsets back to characters, the labels. */
export interface QaFeature {
  /** The question's id; several windows share it. */
  exampleId: string
  /** Index of the question in the examples (run_qa's `overflow_to_sample_mapping`). */
  example: number
  ids: number[]
  typeIds: number[]
  /** [start, end) characters of each token in its own text (question or context); [0, 0] for special tokens. */
  offsets: Array<[number, number]>
  /** 0 question, 1 context, null special token. */
  sequenceIds: Array<0 | 1 | null>
  /** Pre-tokenizer word of each token in its own text; null for special tokens (tokenizers' `word_ids()`). */
  words: Array<number | null>
  /** Token index of the answer's first and last token; the [CLS] index (0) when out of the window or unanswerable. */
  startPosition: number
  endPosition: number
}

export interface QaFeatureOptions {
  /** Tokens per window, specials included (run_qa's `max_seq_length`). */
  maxLength: number
  /** Tokens the windows overlap by (run_qa's `doc_stride`). */
  docStride: number
  /** Strip the question's leading whitespace, as run_qa.py does for training; the QA pipeline does not. @defaultValue true */
  stripQuestion?: boolean
}

/** [start, end) token ranges of the context's windows. */
export function contextWindows(tokens: number, room: number, stride: number): Array<[number, number]> {
  const out: Array<[number, number]> = []
  for (let start = 0; ; start += room - stride) {
    const stop = Math.min(start + room, tokens)
    out.push([start, stop])
    if (stop === tokens) return out
  }
}

/** run_qa.py's labels of one window: token indices of the answer's span, or the CLS index. */
function labels(f: Omit<QaFeature, 'startPosition' | 'endPosition'>, e: QaExample, clsId: number): [number, number] {
  const cls = f.ids.indexOf(clsId) // 0: [CLS] leads every window
  if (e.answers.text.length === 0) return [cls, cls]
  const startChar = e.answers.answer_start[0]!
  const endChar = startChar + e.answers.text[0]!.length
  let first = f.sequenceIds.indexOf(1)
  let last = f.sequenceIds.lastIndexOf(1)
  if (first < 0) return [cls, cls] // an empty context
  if (!(f.offsets[first]![0] <= startChar && f.offsets[last]![1] >= endChar)) return [cls, cls]
  while (first < f.offsets.length && f.offsets[first]![0] <= startChar) first++
  while (f.offsets[last]![1] >= endChar) last--
  return [first - 1, last + 1]
}

/** The features of every example, in order; a question too long for `maxLength` or a stride too large is an error naming it (all at once). */
export function qaTrainFeatures(examples: readonly QaExample[], encoder: WordPieceEncoder, o: QaFeatureOptions): QaFeature[] {
  const issues: Issue[] = []
  const out: QaFeature[] = []
  examples.forEach((e, example) => {
    const question = encoder.encode(o.stripQuestion === false ? e.question : e.question.trimStart()) // run_qa strips the question's leading whitespace
    const context = encoder.encode(e.context)
    const room = o.maxLength - question.length - 3
    if (room <= 0) return issues.push(issue('QaQuestionTooLong', { path: `question ${e.id}`, value: e.question }, e.id, question.length, o.maxLength))
    if (context.length > room && o.docStride >= room) return issues.push(issue('QaStrideTooLarge', { path: 'data.docStride', value: o.docStride }, e.id, o.docStride, room))
    for (const [from, to] of contextWindows(context.length, room, o.docStride)) {
      const part = context.slice(from, to)
      const f = {
        exampleId: e.id,
        example,
        ids: [encoder.cls, ...question.map((t) => t.id), encoder.sep, ...part.map((t) => t.id), encoder.sep],
        typeIds: [0, ...question.map(() => 0), 0, ...part.map(() => 1), 1],
        offsets: [[0, 0], ...question.map((t) => [t.start, t.end]), [0, 0], ...part.map((t) => [t.start, t.end]), [0, 0]] as Array<[number, number]>,
        sequenceIds: [null, ...question.map(() => 0 as const), null, ...part.map(() => 1 as const), null],
        words: [null, ...question.map((t) => t.word), null, ...part.map((t) => t.word), null],
      }
      const [startPosition, endPosition] = labels(f, e, encoder.cls)
      out.push({ ...f, startPosition, endPosition })
    }
  })
  if (issues.length > 0) throw new TunekitError(issues)
  return out
}
