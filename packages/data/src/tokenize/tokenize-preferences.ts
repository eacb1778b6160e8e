import { issue, TunekitError, type Issue } from '@tunekit/core'
import type { Message, Preference, ToolDefinition, Unpaired } from '../formats/conversation.ts'
import { renderChat, renderSpans, type ChatTemplate } from '../templates/render.ts'
import type { LoadedTokenizer } from '../tokenizer/load.ts'
import { spanEncoder, type SpanEncoder } from './encode-spans.ts'
import { skipUnrendered } from './tokenize.ts'

export interface PreferenceTokenizeOptions {
  template: ChatTemplate
  /** Longest record (prompt + the longer answer) in tokens, TRL's `max_length`. */
  maxLength: number
  /** Prompt tokens kept (its end) when a record is too long, TRL's `max_prompt_length`. */
  maxPromptLength: number
  onError: 'fail' | 'skip'
  /** Decode every piece and compare with the rendered text. @defaultValue true */
  checkRoundTrip?: boolean
}

/** A pair ready for the shards: the prompt once, each answer with its labels. */
export interface TokenizedPair {
  record: string
  prompt: number[]
  chosen: { ids: number[]; labels: Uint8Array }
  rejected: { ids: number[]; labels: Uint8Array }
}

/** A KTO example ready for the shards. */
export interface TokenizedUnpaired {
  record: string
  prompt: number[]
  completion: { ids: number[]; labels: Uint8Array }
  desirable: boolean
}

/** What the preference tokenize step did and found (`report.json`). */
export interface PreferenceReport {
  template: string
  maxLength: number
  maxPromptLength: number
  /** Records read: pairs and KTO examples. */
  pairs: number
  unpaired: number
  /** Records written to the shards. */
  samples: number
  desirable: number
  undesirable: number
  tokens: number
  /** Answer tokens that carry loss. */
  trainedTokens: number
  /** Longest record before truncation: prompt + the longer answer, in tokens. */
  longestBefore: number
  /** Longest kept prompt and longest kept record, in tokens. */
  longestPrompt: number
  longest: number
  /** Records cut to fit maxLength, and of those, how many had their prompt cut and their answers cut. */
  truncated: number
  promptsCut: number
  answersCut: number
  /** Records whose answers keep no label after truncation (PreferenceTruncatedAway). */
  truncatedAway: number
  /** Pairs whose chosen and rejected tokens are equal (PreferenceIdentical). */
  identical: number
  eosChecked: number
  eosMissing: number
  roundTripFailures: number
  skipped: { where: string; reason: string }[]
  eos: { token: string; id: number }
  pad: { token: string; id: number }
  issues: Issue[]
}

/** An answer's ids and labels, encoded apart from the prompt (as TRL tokenizes them). */
interface Encoded {
  ids: number[]
  labels: Uint8Array
  roundTripFailure: string | undefined
}

/**
 * Renders the prompt with the generation prompt and `prompt + side` as a whole; the side's text is
 * what follows the prompt up to the end of its last assistant turn (the template's turn end, its
 * eos; the newline after it is not part of the answer), and its labels are its assistant spans.
 * Throws (the caller reports TemplateRender) when the prompt is not a prefix of the whole.
 */
function encodeSide(
  template: ChatTemplate, encoder: SpanEncoder, eosToken: string, promptText: string, prompt: readonly Message[], side: readonly Message[],
  tools: readonly ToolDefinition[] | undefined, checkRoundTrip: boolean,
): Encoded {
  const whole = renderSpans(template, [...prompt, ...side], eosToken, tools)
  if (!whole.text.startsWith(promptText)) throw new Error('the prompt rendered with the generation prompt is not a prefix of the prompt and its answer rendered together, so the answer cannot be cut from it')
  const spans = whole.assistant.filter((s) => s.message >= prompt.length).map((s) => ({ start: Math.max(0, s.start - promptText.length), end: s.end - promptText.length }))
  const text = whole.text.slice(promptText.length, promptText.length + spans.at(-1)!.end)
  const enc = encoder.encode(text, spans, checkRoundTrip)
  return { ids: enc.ids, labels: enc.mask, roundTripFailure: enc.roundTripFailures[0] }
}

const hasLabel = (labels: Uint8Array): boolean => labels.indexOf(1) >= 0

const sameIds = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i])

/**
 * TRL's truncation (DPOTrainer.tokenize_row, max_length and max_prompt_length): when the prompt and
 * the longer answer exceed maxLength, keep the prompt's last maxPromptLength tokens; when they still
 * do, cut every answer to maxLength − maxPromptLength tokens.
 * @see https://github.com/huggingface/trl/blob/v0.11.4/trl/trainer/dpo_trainer.py (tokenize_row)
 */
export function truncatePreference<A extends { ids: number[]; labels: Uint8Array }>(
  prompt: number[], answers: A[], maxLength: number, maxPromptLength: number,
): { prompt: number[]; answers: A[]; promptCut: boolean; answersCut: boolean } {
  const longer = Math.max(...answers.map((a) => a.ids.length))
  let promptCut = false
  let answersCut = false
  if (prompt.length + longer > maxLength && prompt.length > maxPromptLength) {
    prompt = prompt.slice(prompt.length - maxPromptLength)
    promptCut = true
  }
  if (prompt.length + longer > maxLength) {
    const room = Math.max(0, maxLength - maxPromptLength)
    answers = answers.map((a) => (a.ids.length > room ? { ...a, ids: a.ids.slice(0, room), labels: a.labels.slice(0, room) } : a))
    answersCut = true
  }
  return { prompt, answers, promptCut, answersCut }
}

/** One record for {@link tokenizePreferences}: a preference pair, or an unpaired (KTO) completion. */
export type PreferenceItem = { kind: 'pair'; record: Preference } | { kind: 'unpaired'; record: Unpaired }

/**
 * Tokenizes preference pairs and KTO examples with the chat template: each record's prompt once
 * (rendered with the generation prompt, bos first when the tokenizer adds one), each answer as the
 * assistant turn(s) that follow it, ending with the template's turn end (eos). Truncates as TRL
 * does and checks the result: the template renders, the text round-trips, eos ends every answer,
 * no answer is truncated away, chosen differs from rejected. Fatal findings are thrown together
 * at the end; with `onError: 'skip'`, records that do not render or keep no label are skipped and
 * listed.
 */
export async function tokenizePreferences(
  records: AsyncIterable<PreferenceItem> | Iterable<PreferenceItem>,
  tok: LoadedTokenizer,
  opts: PreferenceTokenizeOptions,
  on: { pair: (p: TokenizedPair) => Promise<void> | void; unpaired: (u: TokenizedUnpaired) => Promise<void> | void },
): Promise<PreferenceReport> {
  const encoder = spanEncoder(tok)
  const checkRoundTrip = opts.checkRoundTrip ?? true
  const r: PreferenceReport = {
    template: opts.template.name, maxLength: opts.maxLength, maxPromptLength: opts.maxPromptLength, pairs: 0, unpaired: 0, samples: 0, desirable: 0, undesirable: 0,
    tokens: 0, trainedTokens: 0, longestBefore: 0, longestPrompt: 0, longest: 0, truncated: 0, promptsCut: 0, answersCut: 0, truncatedAway: 0, identical: 0,
    eosChecked: 0, eosMissing: 0, roundTripFailures: 0, skipped: [], eos: tok.eos, pad: tok.pad, issues: [],
  }
  const first = { away: '', identical: '', eos: '', roundTrip: '' }
  for await (const item of records) {
    const rec = item.record
    const where = `${item.kind === 'pair' ? 'pair' : 'example'} ${rec.id}`
    if (item.kind === 'pair') r.pairs++
    else r.unpaired++
    let prompt: number[]
    let answers: Encoded[]
    try {
      const promptText = renderChat(opts.template, rec.prompt, true, rec.tools)
      const sides = item.kind === 'pair' ? [item.record.chosen, item.record.rejected] : [item.record.completion]
      answers = sides.map((side) => encodeSide(opts.template, encoder, tok.eos.token, promptText, rec.prompt, side, rec.tools, checkRoundTrip))
      const enc = encoder.encode(promptText, [], checkRoundTrip)
      prompt = tok.addBos && tok.bos && !promptText.startsWith(tok.bos.token) ? [tok.bos.id, ...enc.ids] : enc.ids
      const failed = [...enc.roundTripFailures, ...answers.flatMap((a) => (a.roundTripFailure === undefined ? [] : [a.roundTripFailure]))]
      if (failed.length > 0) {
        r.roundTripFailures++
        first.roundTrip ||= `${where}: ${JSON.stringify(failed[0]!.slice(0, 60))} decodes differently`
      }
    } catch (e) {
      skipUnrendered(r.skipped, opts, where, e)
      continue
    }
    for (const a of answers) {
      r.eosChecked++
      if (a.ids.at(-1) !== tok.eos.id || a.labels.at(-1) !== 1) {
        r.eosMissing++
        first.eos ||= where
      }
    }
    if (item.kind === 'pair' && sameIds(answers[0]!.ids, answers[1]!.ids)) {
      r.identical++
      first.identical ||= where
    }
    r.longestBefore = Math.max(r.longestBefore, prompt.length + Math.max(...answers.map((a) => a.ids.length)))
    const cut = truncatePreference(prompt, answers, opts.maxLength, opts.maxPromptLength)
    if (cut.promptCut || cut.answersCut) r.truncated++
    if (cut.promptCut) r.promptsCut++
    if (cut.answersCut) r.answersCut++
    if (!cut.answers.every((a) => hasLabel(a.labels))) {
      r.truncatedAway++
      first.away ||= where
      if (opts.onError === 'skip') r.skipped.push({ where, reason: `an answer keeps no label after truncation to maxLength ${opts.maxLength} (maxPromptLength ${opts.maxPromptLength})` })
      continue
    }
    r.samples++
    const kept = cut.prompt.length + cut.answers.reduce((n, a) => n + a.ids.length, 0)
    r.tokens += kept
    r.longestPrompt = Math.max(r.longestPrompt, cut.prompt.length)
    r.longest = Math.max(r.longest, cut.prompt.length + Math.max(...cut.answers.map((a) => a.ids.length)))
    for (const a of cut.answers) for (const l of a.labels) r.trainedTokens += l
    if (item.kind === 'pair') {
      await on.pair({ record: rec.id, prompt: cut.prompt, chosen: cut.answers[0]!, rejected: cut.answers[1]! })
    } else {
      if (item.record.desirable) r.desirable++
      else r.undesirable++
      await on.unpaired({ record: rec.id, prompt: cut.prompt, completion: cut.answers[0]!, desirable: item.record.desirable })
    }
  }
  finishIssues(r, first, opts)
  const fatal = r.issues.filter((i) => i.severity === 'error')
  if (fatal.length > 0) throw Object.assign(new TunekitError(fatal), { report: r })
  return r
}

/** The report's findings as catalog issues (errors unless onError is 'skip' or the finding is only a warning). */
function finishIssues(r: PreferenceReport, first: { away: string; identical: string; eos: string; roundTrip: string }, opts: PreferenceTokenizeOptions): void {
  if (r.roundTripFailures > 0)
    r.issues.push(issue('TokenizerRoundTrip', { path: 'data.template', value: opts.template.name }, first.roundTrip, `${r.roundTripFailures} record(s) do not survive encode → decode`))
  if (r.eosMissing > 0)
    r.issues.push(issue('EosNotSupervised', { path: 'tokens.eos', value: r.eos.token }, r.eos.token, `${r.eosMissing} of ${r.eosChecked} answers, first ${first.eos}`))
  if (r.identical > 0) r.issues.push(issue('PreferenceIdentical', { path: 'data', severity: 'warning' }, r.identical, first.identical))
  if (r.truncatedAway > 0)
    r.issues.push(issue('PreferenceTruncatedAway', { path: 'data.maxPromptLength', value: opts.maxPromptLength, severity: opts.onError === 'skip' ? 'warning' : 'error' }, r.truncatedAway, first.away, opts.maxLength, opts.maxPromptLength))
  if (r.samples === 0 && !r.issues.some((i) => i.severity === 'error')) r.issues.push(issue('EmptyDataset', { path: 'data' }, 'tokenize'))
}
