import { fail } from '@tunekit/core'
import { corpusBleu, type BleuOptions } from './bleu/bleu.ts'
import { checkPairs } from './check-inputs.ts'
import { corpusRougeL, type RougeOptions } from './rouge/rouge-l.ts'
import { exactMatch } from './squad/normalize.ts'
import { squadV1 } from './squad/squad-v1.ts'
import { squadV2 } from './squad/squad-v2.ts'
import { formatToolCallTable } from './tool-calls/report.ts'
import { scoreToolCalls, type ToolCallOptions } from './tool-calls/score.ts'
import type { ToolTurn } from './tool-calls/turn.ts'

/** What each generation metric takes: the reference entry of one prediction, and its options. */
export interface GenerationMetrics {
  /** Corpus BLEU-4 (sacrebleu): one or more reference strings per prediction. */
  bleu: { reference: readonly string[]; options: BleuOptions }
  /** Mean ROUGE-L (rouge-score): a reference string, or several (the best F counts). */
  'rouge-l': { reference: string | readonly string[]; options: RougeOptions }
  /** Mean exact match after SQuAD normalisation: a reference string, or several (any may match). */
  'exact-match': { reference: string | readonly string[]; options: Record<string, never> }
  /** SQuAD v1.1 EM / F1: the gold answers of each question (at least one). */
  'squad-v1': { reference: readonly string[]; options: Record<string, never> }
  /** SQuAD v2.0 EM / F1 with HasAns / NoAns: the gold answers, empty for an unanswerable question. */
  'squad-v2': { reference: readonly string[]; options: Record<string, never> }
  /** Function calling: the reference turn (text or calls) of each generated turn. */
  'tool-calls': { reference: string | ToolTurn; options: ToolCallOptions }
}

/** The name of a generation metric, as `scoreGenerations` takes it. */
export type GenerationMetric = keyof GenerationMetrics

/** The result of {@link scoreGenerations}: JSON that an eval report stores as it is. */
export interface GenerationScore {
  /** The metric computed. */
  kind: GenerationMetric
  /** Number of predictions scored. */
  count: number
  /** Every figure in percent (0–100), except counts (`total`, `hasAnsTotal`, …); `null`: nothing of that kind to score. */
  metrics: Record<string, number | null>
  /** A printed table, for the metrics that have one (`tool-calls`). */
  table?: string
}

type Scorer<K extends GenerationMetric> = (
  predictions: readonly string[],
  references: readonly GenerationMetrics[K]['reference'][],
  options: Partial<GenerationMetrics[K]['options']>,
) => Omit<GenerationScore, 'kind' | 'count'>

const scorers: { [K in GenerationMetric]: Scorer<K> } = {
  bleu: (p, r, o) => ({ metrics: { bleu4: corpusBleu(p, r, o).score } }),
  'rouge-l': (p, r, o) => {
    const s = corpusRougeL(p, r, o)
    return { metrics: { rougeL: 100 * s.fmeasure, rougeLPrecision: 100 * s.precision, rougeLRecall: 100 * s.recall } }
  },
  'exact-match': (p, r) => {
    checkPairs('exact-match', p, r, { atLeastOne: true })
    const hits = p.reduce((sum, prediction, i) => sum + exactMatch(prediction, r[i]!), 0)
    return { metrics: { exactMatch: (100 * hits) / Math.max(p.length, 1) } }
  },
  'squad-v1': (p, r) => ({ metrics: { ...squadV1(p, r) } }),
  'squad-v2': (p, r) => ({ metrics: { ...squadV2(p, r) } }),
  'tool-calls': (p, r, o) => {
    const s = scoreToolCalls(p, r, o)
    const { bleu4, slotPrecision, slotRecall, slotF1, nameAccuracy, jsonValidity } = s
    return { metrics: { bleu4, slotPrecision, slotRecall, slotF1, nameAccuracy, jsonValidity }, table: formatToolCallTable(s) }
  },
}

/** The metric names `scoreGenerations` knows. */
export const generationMetrics = Object.keys(scorers) as GenerationMetric[]

/**
 * Scores generated texts with one metric, for the generate → score step of an evaluation: one
 * entry of `references` per prediction, in the same order. Figures are percentages whatever the
 * reference implementation's own scale (rouge-score's 0–1 becomes 0–100). An unknown `kind` is the
 * catalog's TK602, a length mismatch TK600.
 *
 * @example
 * ```ts
 * scoreGenerations('bleu', ['the cat sat'], [['the cat sat down', 'a cat sat']])
 * // { kind: 'bleu', count: 1, metrics: { bleu4: … } }
 * ```
 */
export function scoreGenerations<K extends GenerationMetric>(
  kind: K,
  predictions: readonly string[],
  references: readonly GenerationMetrics[K]['reference'][],
  options: Partial<GenerationMetrics[K]['options']> = {},
): GenerationScore {
  const scorer = Object.hasOwn(scorers, kind) ? (scorers[kind] as Scorer<K>) : undefined
  if (!scorer) fail('UnknownMetric', { path: 'kind', value: kind }, String(kind), generationMetrics)
  return { kind, count: predictions.length, ...scorer(predictions, references, options) }
}
