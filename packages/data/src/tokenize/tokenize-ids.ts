import { fail } from '@tunekit/core'
import type { TokenRecord } from '../formats/conversation.ts'
import { emptyReport, type TokenizedSample, type TokenizeReport, type Truncation } from './tokenize.ts'

/** Options of {@link tokenizeIds}. */
export interface TokenizeIdsOptions {
  maxLength: number
  truncation: Truncation
  onError: 'fail' | 'skip'
  /** Rows of the model's embedding: max(config.json vocab_size, the tokenizer's ids incl. added tokens). */
  vocabSize: number
  eos: { token: string; id: number }
  pad: { token: string; id: number }
}

const trainedOf = (mask: readonly number[]): number => mask.reduce((n, m, t) => n + (t > 0 ? m : 0), 0)

/**
 * data.format 'tokens' into samples: the records' ids and masks as they are (the format node
 * checked their shape), each id checked against the vocabulary (TokenIdOutOfVocab naming the
 * record, or a skip with `onError: 'skip'`). Longer than maxLength: cut (`'truncate'`), left out
 * (`'drop'`) or cut into maxLength pieces (`'split'`, pieces without a label left out).
 */
export async function tokenizeIds(
  records: AsyncIterable<TokenRecord> | Iterable<TokenRecord>,
  opts: TokenizeIdsOptions,
  onSample: (sample: TokenizedSample) => Promise<void> | void,
): Promise<TokenizeReport> {
  const r = emptyReport({ template: 'none (pre-tokenized)', maskMode: 'all', maxLength: opts.maxLength, truncation: opts.truncation, eos: opts.eos, pad: opts.pad })
  const emit = async (ids: number[], mask: number[]): Promise<void> => {
    r.samples++
    r.tokens += ids.length
    r.longest = Math.max(r.longest, ids.length)
    r.trainedTokens += trainedOf(mask)
    await onSample({ ids, mask: Uint8Array.from(mask), conversation: r.conversations - 1 })
  }
  for await (const rec of records) {
    r.conversations++
    const bad = rec.ids.findIndex((id) => id < 0 || id >= opts.vocabSize)
    if (bad >= 0) {
      if (opts.onError === 'fail') fail('TokenIdOutOfVocab', { path: 'data.format', value: rec.where }, rec.where, bad, rec.ids[bad]!, opts.vocabSize)
      r.skipped.push({ where: rec.where, reason: `input_ids[${bad}] is ${rec.ids[bad]}, outside the vocabulary (${opts.vocabSize} ids)` })
      continue
    }
    r.rendered++
    if (rec.ids.length <= opts.maxLength) await emit(rec.ids, rec.mask)
    else if (opts.truncation === 'drop') {
      r.dropped++
      r.droppedLongest = Math.max(r.droppedLongest, rec.ids.length)
    } else if (opts.truncation === 'truncate') {
      r.truncated++
      const mask = rec.mask.slice(0, opts.maxLength)
      if (trainedOf(mask) === 0) r.fullyMasked++
      else await emit(rec.ids.slice(0, opts.maxLength), mask)
    } else {
      r.split++
      for (let start = 0; start < rec.ids.length; start += opts.maxLength) {
        const mask = rec.mask.slice(start, start + opts.maxLength)
        if (trainedOf(mask) === 0) {
          r.unlabelledPieces++
          continue
        }
        r.splitPieces++
        await emit(rec.ids.slice(start, start + opts.maxLength), mask)
      }
    }
  }
  if (r.samples === 0) fail('EmptyDataset', { path: 'data' }, 'tokenize')
  return r
}
