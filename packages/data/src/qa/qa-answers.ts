// Answers from start/end logits, as transformers' question-answering pipeline picks them
// (pipelines/question_answering.py: select_starts_ends, decode_spans, postprocess, with a fast
// tokenizer and align_to_words), over every window of one question:
//   only context tokens and [CLS] may answer: others get logit −10000 before the softmax;
//   p_start, p_end = softmax over the window; the null score is min over windows of p_start[0]·p_end[0];
//   [CLS] is then set to 0, and a span (s, e) scores p_start[s]·p_end[e] for s ≤ e < s + maxAnswerLength;
//   the window's top-k spans become characters by their words' extents (align_to_words);
//   with `handleImpossible` the null answer ("" at 0) joins them; the top k of all are returned.
import type { QaFeature } from './qa-features.ts'

/** One answer, as the pipeline returns it: `context.slice(start, end) === answer`. */
export interface QaAnswer {
  score: number
  start: number
  end: number
  answer: string
}

export interface QaAnswerOptions {
  /** Answers to return. @defaultValue 1 */
  topK?: number
  /** Longest answer in tokens. @defaultValue 15 */
  maxAnswerLength?: number
  /** Let the null answer ("", SQuAD v2.0's unanswerable) compete. @defaultValue false */
  handleImpossible?: boolean
}

/** Normalised probabilities of the tokens that may answer (the rest −10000 before the softmax, as the pipeline does). */
function probabilities(logits: readonly number[], allowed: readonly boolean[]): number[] {
  const masked = logits.map((x, i) => (allowed[i] ? x : -10000))
  const max = Math.max(...masked)
  const exp = masked.map((x) => Math.exp(x - max))
  const sum = exp.reduce((a, b) => a + b, 0)
  return exp.map((x) => x / sum)
}

/** The character extent of token `t`'s word within the context. */
function wordChars(f: QaFeature, t: number): [number, number] {
  const word = f.words[t]
  let [start, end] = f.offsets[t]!
  for (let i = 0; i < f.ids.length; i++) {
    if (f.sequenceIds[i] !== 1 || f.words[i] !== word) continue
    start = Math.min(start, f.offsets[i]![0])
    end = Math.max(end, f.offsets[i]![1])
  }
  return [start, end]
}

/** The top-k spans of one window: [start token, end token, score], best first (decode_spans). */
function windowSpans(pStart: number[], pEnd: number[], allowed: readonly boolean[], topK: number, maxLen: number): Array<[number, number, number]> {
  const spans: Array<[number, number, number]> = []
  for (let s = 0; s < pStart.length; s++) {
    for (let e = s; e < Math.min(pEnd.length, s + maxLen); e++) spans.push([s, e, pStart[s]! * pEnd[e]!])
  }
  // numpy's argmax (top 1) and sort keep the first of equal scores: a stable sort by score does too
  spans.sort((a, b) => b[2] - a[2])
  return spans.slice(0, topK).filter(([s, e]) => allowed[s] && allowed[e])
}

/**
 * The answers to one question from its windows' logits (`starts[i]`, `ends[i]`: one number per
 * token of `features[i]`), as transformers' QA pipeline returns them.
 */
export function qaAnswers(context: string, features: readonly QaFeature[], starts: ReadonlyArray<readonly number[]>, ends: ReadonlyArray<readonly number[]>, o: QaAnswerOptions = {}): QaAnswer[] {
  const topK = o.topK ?? 1
  const maxLen = o.maxAnswerLength ?? 15
  let nullScore = 1_000_000 // the pipeline's "large and positive" start
  const answers: QaAnswer[] = []
  features.forEach((f, i) => {
    const allowed = f.sequenceIds.map((s, t) => s === 1 || t === 0) // context tokens and [CLS]
    const pStart = probabilities(starts[i]!, allowed)
    const pEnd = probabilities(ends[i]!, allowed)
    if (o.handleImpossible) nullScore = Math.min(nullScore, pStart[0]! * pEnd[0]!)
    pStart[0] = pEnd[0] = 0 // [CLS] never starts or ends a span
    for (const [s, e, score] of windowSpans(pStart, pEnd, allowed, topK, maxLen)) {
      const start = f.sequenceIds[s] === 1 ? wordChars(f, s)[0] : f.offsets[s]![0]
      const end = f.sequenceIds[e] === 1 ? wordChars(f, e)[1] : f.offsets[e]![1]
      answers.push({ score, start, end, answer: context.slice(start, end) })
    }
  })
  if (o.handleImpossible) answers.push({ score: nullScore, start: 0, end: 0, answer: '' })
  return answers.sort((a, b) => b.score - a.score).slice(0, topK)
}
