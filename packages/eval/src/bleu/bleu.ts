import { fail } from '@tunekit/core'
import { pyRstrip, pySplit } from '../text/python-text.ts'
import { tokenize13a } from './tokenize-13a.ts'
import { tokenizeZh } from './tokenize-zh.ts'
import { checkPairs } from '../check-inputs.ts'

/** The largest n-gram order: BLEU-4. */
const MAX_ORDER = 4

/** The tokenizers of sacrebleu that BLEU here offers: `13a` (its default), `zh`, `none` (split on white space). */
export type BleuTokenizer = '13a' | 'zh' | 'none'

/** sacrebleu's smoothing methods (Chen and Cherry, 2014). `exp` is method 3, NIST's, the default. */
export type BleuSmoothing = 'exp' | 'floor' | 'add-k' | 'none'

/** Options of {@link corpusBleu} and {@link sentenceBleu}, named as sacrebleu's `BLEU(...)` arguments. */
export interface BleuOptions {
  /** Tokenizer applied to hypotheses and references. @defaultValue `'13a'` */
  tokenize?: BleuTokenizer
  /** Lower-case both sides first (case-insensitive BLEU). @defaultValue `false` */
  lowercase?: boolean
  /** Smoothing of zero n-gram precisions. @defaultValue `'exp'` */
  smooth?: BleuSmoothing
  /** The value of `floor` (default 0.1) and `add-k` (default 1) smoothing; ignored by the others. */
  smoothValue?: number
  /**
   * Stop at the largest n-gram order the hypotheses have (sentence BLEU of a 3-word answer uses
   * orders 1–3). @defaultValue `false` for {@link corpusBleu}, `true` for {@link sentenceBleu}
   */
  effectiveOrder?: boolean
}

/** A BLEU score with its sufficient statistics, as sacrebleu's `BLEUScore`. */
export interface BleuScore {
  /** BLEU on sacrebleu's 0–100 scale. */
  score: number
  /** Matched n-grams of orders 1–4 (clipped by the references' counts). */
  counts: number[]
  /** Hypothesis n-grams of orders 1–4. */
  totals: number[]
  /** n-gram precisions of orders 1–4 in percent, after smoothing. */
  precisions: number[]
  /** Brevity penalty: exp(1 − refLen / sysLen) when the hypotheses are shorter, else 1. */
  bp: number
  /** Hypothesis tokens. */
  sysLen: number
  /** Reference tokens, the closest reference length per segment (the shorter one on a tie). */
  refLen: number
}

const TOKENIZERS: Record<BleuTokenizer, (line: string) => string[]> = { '13a': tokenize13a, zh: tokenizeZh, none: pySplit }
const SMOOTH_DEFAULTS: Record<BleuSmoothing, number> = { exp: 0, floor: 0.1, 'add-k': 1, none: 0 }

/**
 * Corpus BLEU-4 (Papineni et al., 2002) exactly as sacrebleu computes it: n-gram matches and
 * lengths are summed over all segments first, then one score is taken; each hypothesis n-gram is
 * clipped by the largest count it has in any of its references, and the brevity penalty uses, per
 * segment, the reference length closest to the hypothesis length. An empty corpus scores 0.
 *
 * `references[i]` holds the references of `hypotheses[i]` (one or more; the number may differ from
 * segment to segment), which is sacrebleu's list of reference streams transposed.
 *
 * @see sacrebleu 2.6.0 `corpus_bleu(hypotheses, references)` (`sacrebleu/metrics/bleu.py`) — the
 *   reference this equals within 1e-6 (test/eval/bleu.test.ts).
 * @see https://aclanthology.org/W18-6319/ — Post (2018), A Call for Clarity in Reporting BLEU Scores.
 */
export function corpusBleu(hypotheses: readonly string[], references: readonly (readonly string[])[], options: BleuOptions = {}): BleuScore {
  checkPairs('bleu', hypotheses, references, { atLeastOne: true })
  const tokenize = tokenizerOf(options)
  const stats = new SegmentStats()
  hypotheses.forEach((hypothesis, i) => stats.add(tokenize(hypothesis), references[i]!.map(tokenize)))
  return computeBleu(stats, options.smooth ?? 'exp', options.smoothValue, options.effectiveOrder ?? false)
}

/**
 * Sentence BLEU-4 as sacrebleu's `sentence_bleu`: one hypothesis against its references, `exp`
 * smoothing and effective order on by default (a hypothesis shorter than four tokens is scored on
 * the orders it has).
 *
 * @see sacrebleu 2.6.0 `sentence_bleu(hypothesis, references)` (`sacrebleu/compat.py`) — the reference.
 */
export function sentenceBleu(hypothesis: string, references: readonly string[], options: BleuOptions = {}): BleuScore {
  return corpusBleu([hypothesis], [references], { ...options, effectiveOrder: options.effectiveOrder ?? true })
}

function tokenizerOf(options: BleuOptions): (line: string) => string[] {
  const name = options.tokenize ?? '13a'
  const tokenize = Object.hasOwn(TOKENIZERS, name) ? TOKENIZERS[name] : undefined
  if (!tokenize) fail('UnknownMetricOption', { path: 'tokenize', value: name }, 'BLEU tokenizer', name, Object.keys(TOKENIZERS))
  if (options.smooth !== undefined && !Object.hasOwn(SMOOTH_DEFAULTS, options.smooth)) {
    fail('UnknownMetricOption', { path: 'smooth', value: options.smooth }, 'BLEU smoothing', options.smooth, Object.keys(SMOOTH_DEFAULTS))
  }
  // sacrebleu strips trailing white space before tokenizing, and lower-cases first when asked
  const lowercase = options.lowercase ?? false
  return (line) => tokenize(pyRstrip(lowercase ? line.toLowerCase() : line))
}

/** The summed statistics of sacrebleu's `_compute_segment_statistics`, segment by segment. */
class SegmentStats {
  sysLen = 0
  refLen = 0
  readonly correct = new Array<number>(MAX_ORDER).fill(0)
  readonly total = new Array<number>(MAX_ORDER).fill(0)

  add(hypothesis: readonly string[], references: readonly (readonly string[])[]): void {
    // the reference n-gram counts: the largest count of each n-gram over the references
    const best = new Map<string, number>()
    for (const reference of references) {
      for (const [ngram, count] of ngramCounts(reference)) best.set(ngram, Math.max(best.get(ngram) ?? 0, count))
    }
    this.sysLen += hypothesis.length
    this.refLen += closestLength(hypothesis.length, references.map((r) => r.length))
    for (const [ngram, count] of ngramCounts(hypothesis)) {
      const order = ngram.split(' ').length - 1
      this.total[order]! += count
      this.correct[order]! += Math.min(count, best.get(ngram) ?? 0)
    }
  }
}

/** n-grams of orders 1–4 (tokens joined by a space, which no token holds) and their counts. */
function ngramCounts(tokens: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (let n = 1; n <= MAX_ORDER; n++) {
    for (let i = 0; i + n <= tokens.length; i++) {
      const ngram = tokens.slice(i, i + n).join(' ')
      counts.set(ngram, (counts.get(ngram) ?? 0) + 1)
    }
  }
  return counts
}

/** The reference length closest to the hypothesis length; the shorter of two equally close ones. */
function closestLength(hypothesisLength: number, referenceLengths: readonly number[]): number {
  let closest = referenceLengths[0]!
  for (const length of referenceLengths) {
    const [d, best] = [Math.abs(hypothesisLength - length), Math.abs(hypothesisLength - closest)]
    if (d < best || (d === best && length < closest)) closest = length
  }
  return closest
}

/** sacrebleu's `BLEU.compute_bleu`: smoothing, brevity penalty and the geometric mean of the precisions. */
function computeBleu(stats: SegmentStats, smooth: BleuSmoothing, smoothValue: number | undefined, effectiveOrder: boolean): BleuScore {
  const { sysLen, refLen } = stats
  const correct = [...stats.correct]
  const total = [...stats.total]
  const k = smoothValue ?? SMOOTH_DEFAULTS[smooth]
  // BP = exp(1 − r / c) when the hypotheses (c tokens) are shorter than the references (r tokens)
  const bp = sysLen < refLen ? (sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0) : 1
  const precisions = new Array<number>(MAX_ORDER).fill(0)
  const result = (score: number): BleuScore => ({ score, counts: correct, totals: total, precisions, bp, sysLen, refLen })
  // no match at any order: BLEU is 0 whatever the smoothing (sacrebleu #141)
  if (!correct.some((c) => c > 0)) return result(0)
  let mteval = 1
  let order = MAX_ORDER
  for (let n = 0; n < MAX_ORDER; n++) {
    if (smooth === 'add-k' && n > 0) {
      correct[n]! += k
      total[n]! += k
    }
    if (total[n] === 0) break
    if (effectiveOrder) order = n + 1
    if (correct[n] === 0) {
      if (smooth === 'exp') {
        // NIST: the k-th zero precision becomes 1 / (2^k · total)
        mteval *= 2
        precisions[n] = 100 / (mteval * total[n]!)
      } else if (smooth === 'floor') precisions[n] = (100 * k) / total[n]!
    } else precisions[n] = (100 * correct[n]!) / total[n]!
  }
  // BLEU = BP · exp(Σ log p_n / N); sacrebleu floors log(0) at −9999999999
  let logSum = 0
  for (const p of precisions.slice(0, order)) logSum += p === 0 ? -9999999999 : Math.log(p)
  return result(bp * Math.exp(logSum / order))
}
