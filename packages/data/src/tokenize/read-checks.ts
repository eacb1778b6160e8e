import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { BatchPlan } from '../plan/batch-plan.ts'
import { checkRows, formatChecks, type CheckRow } from './checks.ts'
import type { TokenizeReport } from './tokenize.ts'

/**
 * The checks table of finished artifacts (for `tunekit check` / `plan`): the tokenize artifact's
 * `report.json`, plus the per-epoch figures of the collate artifact's `plan.json` when given.
 */
export async function readChecks(tokenizeDir: string, collateDir?: string): Promise<{ report: TokenizeReport; rows: CheckRow[]; table: string }> {
  const report = JSON.parse(await readFile(join(tokenizeDir, 'report.json'), 'utf8')) as TokenizeReport
  let plan: BatchPlan | undefined
  if (collateDir && existsSync(join(collateDir, 'plan.json'))) plan = JSON.parse(await readFile(join(collateDir, 'plan.json'), 'utf8')) as BatchPlan
  const rows = checkRows(report, plan)
  return { report, rows, table: formatChecks(rows) }
}
