import type { CheckRow } from './checks.ts'
import type { PreferenceReport } from './tokenize-preferences.ts'

/** The checks of a preference tokenize report as rows of the checks table (codes of findings in `detail`). */
export function preferenceCheckRows(r: PreferenceReport): CheckRow[] {
  const code = (name: string): string => r.issues.find((i) => i.name === name)?.code ?? ''
  const read = r.pairs + r.unpaired
  return [
    { check: 'template renders', status: r.skipped.length === 0 ? 'ok' : 'warn', detail: `${read - r.skipped.length}/${read} records with ${r.template}` },
    { check: 'text round-trips', status: r.roundTripFailures === 0 ? 'ok' : 'fail', detail: r.roundTripFailures === 0 ? 'encode → decode gives the rendered text' : `${code('TokenizerRoundTrip')} ${r.roundTripFailures} record(s)` },
    { check: 'eos supervised', status: r.eosMissing === 0 ? 'ok' : 'fail', detail: r.eosMissing === 0 ? `${r.eos.token} (${r.eos.id}) ends ${r.eosChecked} answers` : `${code('EosNotSupervised')} missing in ${r.eosMissing}/${r.eosChecked} answers` },
    { check: 'chosen differs', status: r.identical === 0 ? 'ok' : 'warn', detail: r.identical === 0 ? `${r.pairs} pairs` : `${code('PreferenceIdentical')} ${r.identical} pair(s) with chosen equal to rejected` },
    {
      check: 'length',
      status: r.truncatedAway > 0 ? 'fail' : r.truncated > 0 ? 'warn' : 'ok',
      detail: `maxLength ${r.maxLength}, maxPromptLength ${r.maxPromptLength}: ${r.truncated} truncated (${r.promptsCut} prompts, ${r.answersCut} answers cut), ${r.truncatedAway} with an answer cut away; longest ${r.longestBefore} before, ${r.longest} after`,
    },
    { check: 'samples', status: 'info', detail: `${r.samples} records (${r.pairs} pairs, ${r.desirable} desirable and ${r.undesirable} undesirable examples), ${r.tokens} tokens, ${r.trainedTokens} trained` },
  ]
}
