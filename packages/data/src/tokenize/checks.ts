import type { TokenizeReport } from './tokenize.ts'

/** One row of the checks table printed before training. */
export interface CheckRow {
  check: string
  status: 'ok' | 'warn' | 'fail' | 'info'
  detail: string
}

const pct = (a: number, b: number): string => (b === 0 ? '0%' : `${((100 * a) / b).toFixed(1)}%`)

/** The checks of a tokenize report as rows (the codes of failed checks are in `detail`). */
export function checkRows(r: TokenizeReport, plan?: { trainedTokensPerEpoch: number; stepsPerEpoch: number }): CheckRow[] {
  const code = (name: string): string => r.issues.find((i) => i.name === name)?.code ?? ''
  const rows: CheckRow[] = [
    {
      check: 'template renders',
      status: r.rendered === r.conversations ? 'ok' : 'warn',
      detail: `${r.rendered}/${r.conversations} conversations with ${r.template}${r.templateRule !== undefined ? ` (${r.templateRule})` : ''}${r.skipped.length ? `, ${r.skipped.length} skipped` : ''}`,
    },
    {
      check: 'text round-trips',
      status: r.roundTripFailures === 0 && !code('TokenizerRoundTrip') ? 'ok' : 'fail',
      detail: r.roundTripFailures === 0 && !code('TokenizerRoundTrip') ? 'encode → decode gives the rendered text' : `${code('TokenizerRoundTrip')} ${r.roundTripFailures} conversation(s)`,
    },
    ...(r.tools
      ? [{ check: 'tools rendered', status: 'ok' as const, detail: `${r.tools.definitions} definitions and ${r.tools.calls} calls of ${r.tools.conversations} conversations are in the text; every call parses back as JSON` }]
      : []),
    ...(r.images
      ? [{
        check: 'images',
        status: r.images.cut > 0 ? ('warn' as const) : ('ok' as const),
        detail: `${r.images.images} images of ${r.images.conversations} conversations as ${r.images.tokens} image tokens (never labels)${r.images.cut ? `; ${r.images.cut} sample(s) left out: maxLength ${r.maxLength} cuts into their image tokens` : ''}`,
      }]
      : []),
    {
      check: 'eos supervised',
      status: r.eosMissing === 0 ? 'ok' : 'fail',
      detail: r.eosMissing === 0 ? `${r.eos.token} (${r.eos.id}) ends ${r.eosChecked} assistant turns` : `${code('EosNotSupervised')} missing in ${r.eosMissing}/${r.eosChecked} turns`,
    },
    {
      check: 'no sample fully masked',
      status: r.fullyMasked === 0 ? 'ok' : code('FullyMasked') && r.issues.some((i) => i.name === 'FullyMasked' && i.severity === 'error') ? 'fail' : 'warn',
      detail: r.fullyMasked === 0 ? `mask ${r.maskMode}` : `${code('FullyMasked')} ${r.fullyMasked} sample(s)`,
    },
    {
      check: 'length',
      status: r.truncated + r.dropped + r.split > 0 ? 'warn' : 'ok',
      detail: `maxLength ${r.maxLength} (${r.truncation}): ${r.truncated} truncated, ${r.dropped} dropped, ${r.split} split into ${r.splitPieces}${r.unlabelledPieces ? ` (+${r.unlabelledPieces} unlabelled left out)` : ''}; longest ${r.longest}`,
    },
    { check: 'samples', status: 'info', detail: `${r.samples} samples, ${r.tokens} tokens` },
    { check: 'trained tokens', status: 'info', detail: `${r.trainedTokens} (${pct(r.trainedTokens, r.tokens)} of tokens)` },
  ]
  if (plan) rows.push({ check: 'per epoch', status: 'info', detail: `${plan.trainedTokensPerEpoch} trained tokens in ${plan.stepsPerEpoch} steps` })
  return rows
}

/** Formats the checks as a fixed-width table for the terminal. */
export function formatChecks(rows: readonly CheckRow[]): string {
  const mark = { ok: '✔', warn: '⚠', fail: '✖', info: '·' } as const
  const width = Math.max(...rows.map((r) => r.check.length))
  return rows.map((r) => `${mark[r.status]} ${r.check.padEnd(width)}  ${r.detail}`).join('\n')
}
