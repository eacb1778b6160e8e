import { squadV1, type SquadV1Score } from './squad-v1.ts'
import { squadV2 } from './squad-v2.ts'

/**
 * SQuAD exact match and F1 in percent as the qa stage reports them: v1.1's, or v2.0's overall
 * `exact` / `f1` when unanswerable questions count (`version2WithNegative`).
 */
export function squadScore(predictions: readonly string[], goldAnswers: readonly (readonly string[])[], v2: boolean): SquadV1Score {
  if (!v2) return squadV1(predictions, goldAnswers)
  const s = squadV2(predictions, goldAnswers)
  return { exactMatch: s.exact, f1: s.f1 }
}
