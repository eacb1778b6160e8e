import { checkPairs } from '../check-inputs.ts'
import { rougeTokenize } from './tokenize.ts'

/** Precision, recall and F-measure of one prediction, each in [0, 1], as rouge-score's `Score`. */
export interface RougeScore {
  /** LCS length / prediction tokens. */
  precision: number
  /** LCS length / reference tokens. */
  recall: number
  /** 2PR / (P + R), 0 when both are 0. */
  fmeasure: number
}

/** Options of {@link rougeL} and {@link corpusRougeL}, as `RougeScorer(['rougeL'], use_stemmer, tokenizer)`. */
export interface RougeOptions {
  /** Porter-stem tokens longer than three characters (rouge-score's `use_stemmer`). @defaultValue `false` */
  useStemmer?: boolean
  /**
   * Your own tokenizer instead of rouge-score's default (its `tokenizer=` argument), e.g. one that
   * splits Chinese characters; `useStemmer` is then not applied, as in rouge-score.
   */
  tokenize?: (text: string) => string[]
}

/**
 * ROUGE-L (Lin, 2004) of one prediction: the longest common subsequence of its tokens and the
 * reference's, as precision, recall and F-measure. With several references, the one with the
 * highest F-measure counts (the first on a tie), as rouge-score's `score_multi`. An empty
 * prediction or reference scores 0.
 *
 * @see rouge-score 0.1.2 `RougeScorer(['rougeL']).score(target, prediction)` and `score_multi`
 *   (`rouge_score/rouge_scorer.py`) — the reference this equals within 1e-6 (test/eval/rouge.test.ts).
 * @see https://aclanthology.org/W04-1013/ — Lin (2004), ROUGE.
 */
export function rougeL(prediction: string, references: string | readonly string[], options: RougeOptions = {}): RougeScore {
  const tokenize = options.tokenize ?? ((text: string) => rougeTokenize(text, options.useStemmer ?? false))
  const predicted = tokenize(prediction)
  let best: RougeScore | undefined
  for (const reference of typeof references === 'string' ? [references] : references) {
    const score = lcsScore(tokenize(reference), predicted)
    if (!best || score.fmeasure > best.fmeasure) best = score
  }
  return best ?? { precision: 0, recall: 0, fmeasure: 0 }
}

/**
 * ROUGE-L of a corpus: the mean over predictions of {@link rougeL}'s precision, recall and
 * F-measure (the mean that rouge-score's `BootstrapAggregator` estimates; here exact, no resampling).
 * An empty corpus scores 0.
 *
 * @see rouge-score 0.1.2 (`rouge_score/scoring.py`), the per-example scores averaged — the reference.
 */
export function corpusRougeL(predictions: readonly string[], references: readonly (string | readonly string[])[], options: RougeOptions = {}): RougeScore {
  checkPairs('rouge-l', predictions, references, { atLeastOne: true })
  const sum = { precision: 0, recall: 0, fmeasure: 0 }
  predictions.forEach((prediction, i) => {
    const s = rougeL(prediction, references[i]!, options)
    sum.precision += s.precision
    sum.recall += s.recall
    sum.fmeasure += s.fmeasure
  })
  const n = Math.max(predictions.length, 1)
  return { precision: sum.precision / n, recall: sum.recall / n, fmeasure: sum.fmeasure / n }
}

/** rouge-score's `_score_lcs`. */
function lcsScore(reference: readonly string[], prediction: readonly string[]): RougeScore {
  if (reference.length === 0 || prediction.length === 0) return { precision: 0, recall: 0, fmeasure: 0 }
  const lcs = lcsLength(reference, prediction)
  const precision = lcs / prediction.length
  const recall = lcs / reference.length
  return { precision, recall, fmeasure: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0 }
}

/** Length of the longest common subsequence, by the usual dynamic programme over one row at a time. */
function lcsLength(a: readonly string[], b: readonly string[]): number {
  let previous = new Array<number>(b.length + 1).fill(0)
  for (let i = 1; i <= a.length; i++) {
    const row = [0]
    for (let j = 1; j <= b.length; j++) row[j] = a[i - 1] === b[j - 1] ? previous[j - 1]! + 1 : Math.max(previous[j]!, row[j - 1]!)
    previous = row
  }
  return previous[b.length]!
}
