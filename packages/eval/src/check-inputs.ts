import { fail } from '@tunekit/core'

/**
 * Checks that every prediction has its reference entry (same length, same order) and, where the
 * metric needs one, that no entry is an empty list. Throws the catalog's TK600 / TK601.
 */
export function checkPairs(
  metric: string,
  predictions: readonly unknown[],
  references: readonly unknown[],
  { atLeastOne }: { atLeastOne: boolean },
): void {
  if (predictions.length !== references.length) {
    fail('MetricInputMismatch', { path: 'references', value: { predictions: predictions.length, references: references.length } }, metric, predictions.length, references.length)
  }
  if (!atLeastOne) return
  const empty = references.findIndex((entry) => Array.isArray(entry) && entry.length === 0)
  if (empty >= 0) fail('NoReference', { path: `references[${empty}]`, value: [], hintArgs: [metric] }, metric, empty)
}
