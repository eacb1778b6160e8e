import { issue, TunekitError, type Issue } from '@tunekit/core'
import type { Conversation } from '../formats/conversation.ts'
import type { ImageExpander } from '../images/image-expander.ts'
import type { PreprocessedImage } from '../images/preprocess.ts'
import { renderSpans, type ChatTemplate } from '../templates/render.ts'
import type { LoadedTokenizer } from '../tokenizer/load.ts'
import { cutToBudget, longestTokenChars, messageBudget } from './budget.ts'
import { spanEncoder } from './encode-spans.ts'
import { toolRenderProblem } from './tool-checks.ts'

export type MaskMode = 'all' | 'assistant' | 'last-assistant'
export type Truncation = 'truncate' | 'drop' | 'split'

export interface TokenizeOptions {
  template: ChatTemplate
  maxLength: number
  truncation: Truncation
  mask: MaskMode
  onError: 'fail' | 'skip'
  /** Strings the template writes that must be single tokens (e.g. `<|im_start|>`). */
  markers?: readonly string[]
  /** Decode every piece and compare with the rendered text. @defaultValue true */
  checkRoundTrip?: boolean
  /** Conversations with images: their `<image>` placeholders expanded, their pixels prepared. */
  images?: ImageExpander
  /** Which rule chose the template (graph.json's `template.rule`), for the checks table and template errors. */
  templateRule?: string
}

/** A sample ready for the shards. */
export interface TokenizedSample {
  ids: number[]
  mask: Uint8Array
  /** Line of the conversation it came from (0-based, in the input order); pieces of a split conversation share it. */
  conversation: number
  /** The sample's images, in the order of their tokens. */
  images?: PreprocessedImage[]
}

/** What the tokenize step did and found: the numbers behind the checks table. */
export interface TokenizeReport {
  template: string
  /** Which rule chose the template (a default's, or `set in data.template`), when the run knew it. */
  templateRule?: string
  maskMode: MaskMode
  maxLength: number
  truncation: Truncation
  conversations: number
  /** Conversations the template rendered. */
  rendered: number
  samples: number
  tokens: number
  /** Labels: tokens with mask 1 after position 0 (position 0 predicts nothing). */
  trainedTokens: number
  longest: number
  truncated: number
  dropped: number
  /**
   * The longest dropped sample in tokens; a lower bound when `droppedLongestExact` is false (a
   * message too long to be kept was dropped without being tokenized).
   */
  droppedLongest: number
  droppedLongestExact: boolean
  /** Conversations cut into several samples, and the samples that came out of them. */
  split: number
  splitPieces: number
  /** Pieces of split conversations with no label, left out. */
  unlabelledPieces: number
  /** Assistant turns whose end was checked for a supervised eos, and how many lacked it. */
  eosChecked: number
  eosMissing: number
  fullyMasked: number
  roundTripFailures: number
  skipped: { where: string; reason: string }[]
  /**
   * Present when some conversation has tools or tool calls: how many conversations, definitions
   * and calls were checked in the rendered text (definitions shown, calls parse back as JSON).
   */
  tools?: { conversations: number; definitions: number; calls: number }
  /**
   * Present when some conversation has images: how many conversations had them, the images and
   * image tokens of the samples written, and the samples left out because maxLength would cut
   * into their image tokens (an image's tokens are kept whole or not at all).
   */
  images?: { conversations: number; images: number; tokens: number; cut: number }
  eos: { token: string; id: number }
  pad: { token: string; id: number }
  issues: Issue[]
}

/** A report with every count at zero, for the tokenizers of chat, raw text and pre-tokenized records. */
export function emptyReport(head: Pick<TokenizeReport, 'template' | 'maskMode' | 'maxLength' | 'truncation' | 'eos' | 'pad'>): TokenizeReport {
  // key order as report.json has always written it
  return {
    template: head.template, maskMode: head.maskMode, maxLength: head.maxLength, truncation: head.truncation,
    conversations: 0, rendered: 0, samples: 0, tokens: 0, trainedTokens: 0, longest: 0, truncated: 0, dropped: 0, droppedLongest: 0, droppedLongestExact: true, split: 0,
    splitPieces: 0, unlabelledPieces: 0, eosChecked: 0, eosMissing: 0, fullyMasked: 0, roundTripFailures: 0, skipped: [],
    eos: head.eos, pad: head.pad, issues: [],
  }
}

/** A record the template cannot render: listed in `skipped` with `onError: 'skip'`, else a TemplateRender error naming it. */
export function skipUnrendered(skipped: TokenizeReport['skipped'], opts: { onError: 'fail' | 'skip'; template: { name: string } }, where: string, e: unknown): void {
  const reason = (e as Error).message
  if (opts.onError !== 'skip') throw new TunekitError([issue('TemplateRender', { path: 'data.template', value: opts.template.name }, where, reason)])
  skipped.push({ where, reason: `template ${opts.template.name}: ${reason}` })
}

const hasLabel = (mask: Uint8Array, from: number, to: number): boolean => {
  for (let i = Math.max(from, 1); i < to; i++) if (mask[i] === 1) return true
  return false
}

/**
 * Renders each conversation with the chat template, tokenises it, builds the loss mask from the
 * rendered turn boundaries, applies maxLength and checks the result: the template renders, the
 * text round-trips, eos is a supervised label at the end of every trained assistant turn, and no
 * sample is entirely masked. Fatal findings are thrown together as one TunekitError at the end;
 * with `onError: 'skip'`, conversations that do not render and samples with no label are skipped
 * and listed instead.
 */
export async function tokenizeConversations(
  conversations: AsyncIterable<Conversation> | Iterable<Conversation>,
  tok: LoadedTokenizer,
  opts: TokenizeOptions,
  onSample: (sample: TokenizedSample) => Promise<void> | void,
): Promise<TokenizeReport> {
  const encoder = spanEncoder(tok)
  const checkRoundTrip = opts.checkRoundTrip ?? true
  const r = emptyReport({ template: opts.template.name, maskMode: opts.mask, maxLength: opts.maxLength, truncation: opts.truncation, eos: tok.eos, pad: tok.pad })
  if (opts.templateRule !== undefined) r.templateRule = opts.templateRule
  const named = `template ${opts.template.name}${opts.templateRule !== undefined ? ` (${opts.templateRule})` : ''}`
  for (const marker of opts.markers ?? []) {
    if (!tok.atomic.includes(marker))
      r.issues.push(issue('TokenizerRoundTrip', { path: 'tokens', value: marker }, named, `${JSON.stringify(marker)} is not one token of this tokenizer (it encodes to ${tok.encode(marker).length} ids)`))
  }
  let firstEosMissing = ''
  let firstFullyMasked = ''
  let firstRoundTrip = ''
  const emit = async (ids: number[], mask: Uint8Array, images?: PreprocessedImage[]): Promise<void> => {
    r.samples++
    r.tokens += ids.length
    r.longest = Math.max(r.longest, ids.length)
    for (let i = 1; i < mask.length; i++) r.trainedTokens += mask[i]!
    if (images && r.images) {
      r.images.images += images.length
      for (const id of ids) if (opts.images!.ids().has(id)) r.images.tokens++
    }
    await onSample(images ? { ids, mask, conversation: r.conversations - 1, images } : { ids, mask, conversation: r.conversations - 1 })
  }
  /** Whether the first `length` ids hold every image token of the conversation (else the sample is left out). */
  const imagesWhole = (ids: number[], length: number, expected: number): boolean => {
    let n = 0
    for (let i = 0; i < length; i++) if (opts.images!.ids().has(ids[i]!)) n++
    if (n === expected) return true
    r.images!.cut++
    return false
  }

  // Text beyond this many characters of one message cannot reach a kept token (budget.ts).
  const longestToken = longestTokenChars(tok)
  const budget = opts.truncation === 'split' ? Infinity : messageBudget(opts.maxLength, longestToken)
  const dropLong = (tokens: number, exact: boolean): void => {
    r.dropped++
    if (tokens > r.droppedLongest || (tokens === r.droppedLongest && !exact)) [r.droppedLongest, r.droppedLongestExact] = [tokens, exact]
  }

  for await (const conv of conversations) {
    r.conversations++
    const where = `conversation ${conv.id}`
    const expanded = conv.images?.length && opts.images ? await opts.images.expand(conv) : undefined
    if (expanded) {
      r.images ??= { conversations: 0, images: 0, tokens: 0, cut: 0 }
      r.images.conversations++
    }
    const bounded = cutToBudget(expanded?.messages ?? conv.messages, budget)
    let rendered
    try {
      rendered = renderSpans(opts.template, bounded.messages, tok.eos.token, conv.tools)
    } catch (e) {
      skipUnrendered(r.skipped, opts, where, e)
      continue
    }
    if (conv.tools || conv.messages.some((m) => m.toolCalls)) {
      r.tools ??= { conversations: 0, definitions: 0, calls: 0 }
      r.tools.conversations++
      const bad = toolRenderProblem(rendered, bounded.messages, conv.tools, r.tools, opts.template.name, tok.eos.token)
      if (bad && opts.onError === 'skip') {
        r.skipped.push({ where, reason: `template ${opts.template.name}: ${bad.reason}` })
        continue
      }
      if (bad) throw new TunekitError([issue(bad.error, { path: 'data.template', value: opts.template.name }, where, bad.reason)])
    }
    r.rendered++
    if (bounded.cut && opts.truncation === 'drop') {
      // Its text alone holds more than maxLength tokens: dropped without tokenizing it; its
      // characters over the longest token's give a lower bound on its length.
      dropLong(Math.ceil(bounded.chars / longestToken), false)
      continue
    }
    const trained = opts.mask === 'last-assistant' ? rendered.assistant.slice(-1) : rendered.assistant
    const spans = opts.mask === 'all' ? [{ start: 0, end: rendered.text.length }, ...trained] : trained
    const enc = encoder.encode(rendered.text, spans, checkRoundTrip)
    if (enc.roundTripFailures.length > 0) {
      r.roundTripFailures++
      firstRoundTrip ||= `${where}: ${JSON.stringify(enc.roundTripFailures[0]!.slice(0, 60))} decodes differently`
    }
    let ids = enc.ids
    let mask = enc.mask
    const turnSpans = opts.mask === 'all' ? enc.spans.slice(1) : enc.spans
    if (tok.addBos && tok.bos && !rendered.text.startsWith(tok.bos.token)) {
      ids = [tok.bos.id, ...ids]
      const shifted = new Uint8Array(mask.length + 1)
      shifted.set(mask, 1)
      mask = shifted
      for (const s of turnSpans) {
        s.start++
        s.end++
      }
    }
    // image tokens are inputs, never labels, whatever the mask mode
    if (expanded) for (let i = 0; i < ids.length; i++) if (opts.images!.ids().has(ids[i]!)) mask[i] = 0
    // the last label of every trained assistant turn must be eos (within what is kept)
    const kept = opts.truncation === 'truncate' ? Math.min(ids.length, opts.maxLength) : ids.length
    for (const s of turnSpans) {
      if (s.end > kept || s.end <= s.start) continue
      r.eosChecked++
      if (ids[s.end - 1] !== tok.eos.id || mask[s.end - 1] !== 1) {
        r.eosMissing++
        firstEosMissing ||= `${where} (turn ending at token ${s.end - 1})`
      }
    }
    if (ids.length <= opts.maxLength) {
      if (!hasLabel(mask, 0, ids.length)) {
        r.fullyMasked++
        firstFullyMasked ||= where
        if (opts.onError === 'skip') r.skipped.push({ where, reason: 'no supervised token' })
        continue
      }
      await emit(ids, mask, expanded?.images)
    } else if (expanded && opts.truncation !== 'drop' && (opts.truncation === 'split' || !imagesWhole(ids, opts.maxLength, expanded.tokens))) {
      // a cut through an image's tokens (or pieces that would share its pixels) is not trainable
      if (opts.truncation === 'split') r.images!.cut++
      dropLong(ids.length, true)
    } else if (opts.truncation === 'drop') {
      dropLong(ids.length, true)
    } else if (opts.truncation === 'truncate') {
      r.truncated++
      if (!hasLabel(mask, 0, opts.maxLength)) {
        r.fullyMasked++
        firstFullyMasked ||= `${where} (after truncation to ${opts.maxLength})`
        if (opts.onError === 'skip') r.skipped.push({ where, reason: `no supervised token in the first ${opts.maxLength} tokens` })
        continue
      }
      await emit(ids.slice(0, opts.maxLength), mask.slice(0, opts.maxLength), expanded?.images)
    } else {
      r.split++
      for (let start = 0; start < ids.length; start += opts.maxLength) {
        const end = Math.min(ids.length, start + opts.maxLength)
        if (mask.subarray(start + 1, end).indexOf(1) < 0) {
          r.unlabelledPieces++
          continue
        }
        r.splitPieces++
        await emit(ids.slice(start, end), mask.slice(start, end))
      }
    }
  }

  if (r.roundTripFailures > 0)
    r.issues.push(issue('TokenizerRoundTrip', { path: 'data.template', value: opts.template.name }, firstRoundTrip, `${r.roundTripFailures} conversation(s) do not survive encode → decode`))
  if (r.eosMissing > 0)
    r.issues.push(issue('EosNotSupervised', { path: 'tokens.eos', value: tok.eos.token }, tok.eos.token, `${r.eosMissing} of ${r.eosChecked} assistant turns, first ${firstEosMissing}`))
  if (r.fullyMasked > 0)
    r.issues.push(issue('FullyMasked', { path: 'data.mask', value: opts.mask, severity: opts.onError === 'skip' ? 'warning' : 'error' }, r.fullyMasked, firstFullyMasked))
  if (r.samples === 0 && r.dropped > 0) {
    const longest = r.droppedLongestExact ? `${r.droppedLongest} tokens` : `at least ${r.droppedLongest} tokens, from text too long to tokenize`
    r.issues.push(issue('AllSamplesDropped', { path: 'data.maxLength', value: opts.maxLength, hintArgs: [r.droppedLongest, r.droppedLongestExact] }, r.dropped, opts.maxLength, longest))
  } else if (r.samples === 0) r.issues.push(issue('EmptyDataset', { path: 'data' }, 'tokenize'))
  const fatal = r.issues.filter((i) => i.severity === 'error')
  if (fatal.length > 0) throw Object.assign(new TunekitError(fatal), { report: r })
  return r
}
