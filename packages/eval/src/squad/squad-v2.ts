import { checkPairs } from '../check-inputs.ts'
import { answerTokens, normalizeAnswer, sharedTokens } from './normalize.ts'

/** SQuAD v2.0 scores in percent, named as the official script's output (`HasAns_exact` → `hasAnsExact`). */
export interface SquadV2Score {
  /** Mean exact match over all questions, 0–100. */
  exact: number
  /** Mean F1 over all questions, 0–100. */
  f1: number
  /** Number of questions. */
  total: number
  /** Exact match over the questions that have a gold answer; absent when there are none. */
  hasAnsExact?: number
  /** F1 over the questions that have a gold answer. */
  hasAnsF1?: number
  /** Questions that have a gold answer. */
  hasAnsTotal?: number
  /** Exact match over the unanswerable questions (a prediction is right when it is empty). */
  noAnsExact?: number
  /** F1 over the unanswerable questions (equal to their exact match). */
  noAnsF1?: number
  /** Unanswerable questions. */
  noAnsTotal?: number
}

/**
 * Token F1 as SQuAD v2.0 defines it: when the prediction or the gold answer has no tokens (a
 * no-answer), 1 if both have none and 0 otherwise; else as v1.1.
 *
 * @see SQuAD v2.0 official evaluation script, `compute_f1`.
 */
export function squadF1V2(prediction: string, gold: string): number {
  const predicted = answerTokens(prediction)
  const expected = answerTokens(gold)
  if (predicted.length === 0 || expected.length === 0) return predicted.length === expected.length ? 1 : 0
  const same = sharedTokens(predicted, expected)
  if (same === 0) return 0
  const precision = same / predicted.length
  const recall = same / expected.length
  return (2 * precision * recall) / (precision + recall)
}

/**
 * SQuAD v2.0 exact match and F1 with unanswerable questions. A question whose list of gold answers
 * is empty is unanswerable: its only right answer is the empty string, so an empty prediction is a
 * correct no-answer (EM 1, F1 1) and any other scores 0. Gold answers that normalise to nothing are
 * dropped first, as the script does. Scores are means in percent, overall and split into `HasAns`
 * and `NoAns`. The no-answer probability threshold (`--na-prob-file`) is not modelled: every
 * prediction is taken as given, which is the script's result without that file.
 *
 * @see SQuAD v2.0 official evaluation script (evaluate-v2.0.py): `get_raw_scores`,
 *   `make_eval_dict`, `merge_eval` — the reference; test/eval/squad.test.ts checks this against its
 *   `normalize_answer` / `compute_exact` / `compute_f1` as allennlp-models 2.10.1 ships them.
 * @see https://arxiv.org/abs/1806.03822 — Rajpurkar, Jia and Liang (2018), SQuAD 2.0.
 */
export function squadV2(predictions: readonly string[], goldAnswers: readonly (readonly string[])[]): SquadV2Score {
  checkPairs('squad-v2', predictions, goldAnswers, { atLeastOne: false })
  const all = { exact: 0, f1: 0, total: 0 }
  const hasAns = { exact: 0, f1: 0, total: 0 }
  const noAns = { exact: 0, f1: 0, total: 0 }
  predictions.forEach((prediction, i) => {
    const answers = goldAnswers[i]!
    const kept = answers.filter((a) => normalizeAnswer(a) !== '')
    const golds = kept.length > 0 ? kept : ['']
    const exact = Math.max(...golds.map((gold) => (normalizeAnswer(gold) === normalizeAnswer(prediction) ? 1 : 0)))
    const f1 = Math.max(...golds.map((gold) => squadF1V2(prediction, gold)))
    // HasAns is the raw list being non-empty (`bool(qa['answers'])`), before the filter above
    for (const group of [all, answers.length > 0 ? hasAns : noAns]) {
      group.exact += exact
      group.f1 += f1
      group.total++
    }
  })
  const percent = (sum: number, n: number): number => (n > 0 ? (100 * sum) / n : 0)
  const score: SquadV2Score = { exact: percent(all.exact, all.total), f1: percent(all.f1, all.total), total: all.total }
  if (hasAns.total > 0) Object.assign(score, { hasAnsExact: percent(hasAns.exact, hasAns.total), hasAnsF1: percent(hasAns.f1, hasAns.total), hasAnsTotal: hasAns.total })
  if (noAns.total > 0) Object.assign(score, { noAnsExact: percent(noAns.exact, noAns.total), noAnsF1: percent(noAns.f1, noAns.total), noAnsTotal: noAns.total })
  return score
}
