import { pySplit } from '../text/python-text.ts'

/** Python's `string.punctuation`: the 32 ASCII punctuation characters, the only ones SQuAD removes. */
const PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~')
// `\b(a|an|the)\b` as Python 3 reads it: a word character is a Unicode letter, digit or underscore,
// so "café the" loses "the" but the "the" inside "élthe" stays (JavaScript's `\b` is ASCII-only).
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu

/**
 * SQuAD's answer normalisation: lower case, remove ASCII punctuation, remove the articles a, an and
 * the, collapse white space. Two answers match exactly when their normal forms are equal.
 *
 * @see SQuAD v1.1 and v2.0 official evaluation scripts, `normalize_answer` (identical in both) — the
 *   reference (test/eval/squad.test.ts runs the v1.1 script as allennlp 0.9.0 ships it).
 */
export function normalizeAnswer(text: string): string {
  let kept = ''
  for (const char of text.toLowerCase()) if (!PUNCTUATION.has(char)) kept += char
  return pySplit(kept.replace(ARTICLES, ' ')).join(' ')
}

/** The tokens of an answer's normal form. */
export const answerTokens = (text: string): string[] => pySplit(normalizeAnswer(text))

/**
 * Exact match of one prediction: 1 when its {@link normalizeAnswer} form equals that of any
 * reference, else 0 (0 for an empty list of references).
 *
 * @see SQuAD v1.1 official evaluation script, `exact_match_score` with `metric_max_over_ground_truths`.
 */
export function exactMatch(prediction: string, references: string | readonly string[]): 0 | 1 {
  const normal = normalizeAnswer(prediction)
  return (typeof references === 'string' ? [references] : references).some((r) => normalizeAnswer(r) === normal) ? 1 : 0
}

/** Number of tokens two token lists share, counted with multiplicity (Python's `Counter(a) & Counter(b)`). */
export function sharedTokens(a: readonly string[], b: readonly string[]): number {
  const counts = new Map<string, number>()
  for (const token of a) counts.set(token, (counts.get(token) ?? 0) + 1)
  let shared = 0
  for (const token of b) {
    const left = counts.get(token) ?? 0
    if (left > 0) {
      shared++
      counts.set(token, left - 1)
    }
  }
  return shared
}
