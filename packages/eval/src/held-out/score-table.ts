import type { EvalMetric } from '@tunekit/core'

// Columns in the seed's order (BLEU-4, SLOT-P, SLOT-R, SLOT-F1), then the others; each belongs to a metric.
const COLUMNS: readonly { header: string; key: string; metric: EvalMetric }[] = [
  { header: 'BLEU-4', key: 'bleu4', metric: 'bleu4' },
  { header: 'SLOT-P', key: 'slotPrecision', metric: 'toolCalls' },
  { header: 'SLOT-R', key: 'slotRecall', metric: 'toolCalls' },
  { header: 'SLOT-F1', key: 'slotF1', metric: 'toolCalls' },
  { header: 'ROUGE-L', key: 'rougeL', metric: 'rougeL' },
  { header: 'EM', key: 'exactMatch', metric: 'exact' },
  { header: 'Name Acc.', key: 'nameAccuracy', metric: 'toolCalls' },
  { header: 'JSON Valid', key: 'jsonValidity', metric: 'toolCalls' },
]

/**
 * The eval group's results as a Markdown table, one row per model (`base`, `trained`, …), the
 * columns of the chosen metrics in the seed's order — BLEU-4, SLOT-P, SLOT-R, SLOT-F1 — then
 * ROUGE-L, EM, name accuracy and JSON validity; percent with two decimals, `–` where nothing of
 * that kind was scored.
 */
export function formatScoreTable(rows: readonly { label: string; metrics: { readonly [key: string]: number | null } }[], metrics: readonly EvalMetric[]): string {
  const columns = COLUMNS.filter((c) => metrics.includes(c.metric))
  const cells = rows.map((r) => columns.map((c) => {
    const v = r.metrics[c.key]
    return v === null || v === undefined ? '–' : v.toFixed(2)
  }))
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)))
  const labelWidth = Math.max(5, ...rows.map((r) => r.label.length))
  const line = (first: string, values: readonly string[]): string => `| ${first.padEnd(labelWidth)} | ${values.map((v, i) => v.padStart(widths[i]!)).join(' | ')} |`
  const rule = `|${'-'.repeat(labelWidth + 2)}|${widths.map((w) => `${'-'.repeat(w + 1)}:`).join('|')}|`
  return [line('', columns.map((c) => c.header)), rule, ...rows.map((r, i) => line(r.label, cells[i]!))].join('\n')
}
