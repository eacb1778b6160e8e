import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Recipe, RunResult, ScoreReport } from '@tunekit/core'
import { formatScoreTable } from '@tunekit/eval'

/** The row label of a score node's report: `base` or the recipe's name (the trained model). */
const labelOf = (report: ScoreReport, recipe: Recipe): string => (report.model === 'base' ? 'base' : recipe.name)

/**
 * The eval group's table of a run: one row per score node the run reached (the base first), the
 * seed's columns (BLEU-4, SLOT-P, SLOT-R, SLOT-F1) and the other chosen metrics; '' when none ran.
 */
export function scoreTable(recipe: Recipe, result: RunResult): string {
  if (!recipe.eval) return ''
  const reports = result.nodes
    .filter((n) => n.id === 'score' || n.id === 'score-base')
    .map((n) => JSON.parse(readFileSync(join(n.path, 'report.json'), 'utf8')) as ScoreReport)
    .sort((a, b) => (a.model === b.model ? 0 : a.model === 'base' ? -1 : 1))
  if (reports.length === 0) return ''
  const examples = reports[0]!.examples
  const calls = reports[0]!.callTurns
  const rows = reports.map((r) => ({ label: labelOf(r, recipe), metrics: r.metrics }))
  return `\n${examples} held-out turns (${calls} tool calls, ${examples - calls} text), ${recipe.eval.doSample ? 'sampled' : 'greedy'}, up to ${recipe.eval.maxNewTokens} new tokens:\n${formatScoreTable(rows, recipe.eval.metrics)}\n`
}
