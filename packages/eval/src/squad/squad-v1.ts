import { checkPairs } from '../check-inputs.ts'
import { answerTokens, exactMatch, sharedTokens } from './normalize.ts'

/** SQuAD v1.1 scores in percent, as the official script prints them. */
export interface SquadV1Score {
  /** Mean exact match (best over each question's gold answers), 0–100. */
  exactMatch: number
  /** Mean token F1 (best over each question's gold answers), 0–100. */
  f1: number
}

/**
 * Token F1 of a prediction against one gold answer as SQuAD v1.1 defines it: the tokens of the
 * normal forms, overlap counted with multiplicity; 0 when nothing is shared (so also when either is
 * empty, which v2.0 scores differently).
 *
 * @see SQuAD v1.1 official evaluation script, `f1_score`.
 */
export function squadF1V1(prediction: string, gold: string): number {
  const predicted = answerTokens(prediction)
  const expected = answerTokens(gold)
  const same = sharedTokens(predicted, expected)
  if (same === 0) return 0
  const precision = same / predicted.length
  const recall = same / expected.length
  return (2 * precision * recall) / (precision + recall)
}

/**
 * SQuAD v1.1 exact match and F1 of a set of answers: per question the best score over its gold
 * answers, then the mean over questions, in percent. Every question needs at least one gold
 * answer (TK601); use {@link squadV2} for unanswerable questions.
 *
 * @see SQuAD v1.1 official evaluation script `evaluate(dataset, predictions)` (evaluate-v1.1.py, as
 *   shipped in allennlp 0.9.0's `allennlp/tools/squad_eval.py`) — the reference this equals
 *   (test/eval/squad.test.ts).
 * @see https://arxiv.org/abs/1606.05250 — Rajpurkar et al. (2016), SQuAD.
 */
export function squadV1(predictions: readonly string[], goldAnswers: readonly (readonly string[])[]): SquadV1Score {
  checkPairs('squad-v1', predictions, goldAnswers, { atLeastOne: true })
  let em = 0
  let f1 = 0
  predictions.forEach((prediction, i) => {
    const golds = goldAnswers[i]!
    em += exactMatch(prediction, golds)
    f1 += Math.max(...golds.map((gold) => squadF1V1(prediction, gold)))
  })
  const total = Math.max(predictions.length, 1)
  return { exactMatch: (100 * em) / total, f1: (100 * f1) / total }
}
