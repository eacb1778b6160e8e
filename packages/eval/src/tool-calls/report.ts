import type { ToolTurn } from './turn.ts'
import { scoreToolCalls, type ToolCallOptions, type ToolCallScore } from './score.ts'

const COLUMNS: readonly (readonly [header: string, pick: (s: ToolCallScore) => number | null])[] = [
  ['BLEU-4', (s) => s.bleu4],
  ['SLOT-P', (s) => s.slotPrecision],
  ['SLOT-R', (s) => s.slotRecall],
  ['SLOT-F1', (s) => s.slotF1],
  ['Name Acc.', (s) => s.nameAccuracy],
  ['JSON Valid', (s) => s.jsonValidity],
]

/**
 * The results table of a function-calling evaluation as papers print it: BLEU-4, SLOT-P, SLOT-R,
 * SLOT-F1, function-name accuracy and JSON validity, in percent with two decimals (`–` where no
 * turn of that kind was scored), as a Markdown table under an optional row label.
 */
export function formatToolCallTable(score: ToolCallScore, label = 'model'): string {
  const cells = COLUMNS.map(([, pick]) => {
    const value = pick(score)
    return value === null ? '–' : value.toFixed(2)
  })
  const widths = COLUMNS.map(([header], i) => Math.max(header.length, cells[i]!.length))
  const labelWidth = Math.max(label.length, 5)
  const row = (first: string, values: readonly string[]): string => `| ${first.padEnd(labelWidth)} | ${values.map((v, i) => v.padStart(widths[i]!)).join(' | ')} |`
  const rule = `|${'-'.repeat(labelWidth + 2)}|${widths.map((w) => `${'-'.repeat(w + 1)}:`).join('|')}|`
  return [row('', COLUMNS.map(([h]) => h)), rule, row(label, cells)].join('\n')
}

/** {@link scoreToolCalls} and {@link formatToolCallTable} at once: the scores and the printed table. */
export function toolCallReport(
  predictions: readonly (string | ToolTurn)[],
  references: readonly (string | ToolTurn)[],
  options: ToolCallOptions & { label?: string } = {},
): { score: ToolCallScore; table: string } {
  const score = scoreToolCalls(predictions, references, options)
  return { score, table: formatToolCallTable(score, options.label) }
}
