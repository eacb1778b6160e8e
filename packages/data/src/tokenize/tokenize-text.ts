import { issue, TunekitError } from '@tunekit/core'
import type { Document } from '../formats/conversation.ts'
import type { LoadedTokenizer } from '../tokenizer/load.ts'
import { cutToBudget, longestTokenChars, messageBudget } from './budget.ts'
import { emptyReport, type TokenizedSample, type TokenizeReport, type Truncation } from './tokenize.ts'

/** Options of {@link tokenizeDocuments}. */
export interface TokenizeTextOptions {
  maxLength: number
  truncation: Truncation
}

/**
 * The pretrain stage's tokenisation (LLaMA-Factory's `pt`): each document is encoded as it is,
 * with bos first when the tokenizer adds one (`tokens.addBos`) and eos appended, so the model learns
 * where a document ends; every token is a label (mask 1). No template, no turns. Longer documents
 * are cut (`'truncate'`), left out (`'drop'`) or cut into maxLength pieces (`'split'`).
 */
export async function tokenizeDocuments(
  documents: AsyncIterable<Document> | Iterable<Document>,
  tok: LoadedTokenizer,
  opts: TokenizeTextOptions,
  onSample: (sample: TokenizedSample) => Promise<void> | void,
): Promise<TokenizeReport> {
  const r = emptyReport({ template: 'none (raw text)', maskMode: 'all', maxLength: opts.maxLength, truncation: opts.truncation, eos: tok.eos, pad: tok.pad })
  const emit = async (ids: number[]): Promise<void> => {
    r.samples++
    r.tokens += ids.length
    r.longest = Math.max(r.longest, ids.length)
    r.trainedTokens += ids.length - 1 // position 0 predicts nothing
    await onSample({ ids, mask: new Uint8Array(ids.length).fill(1), conversation: r.conversations - 1 })
  }
  // Work bounded by what is kept (budget.ts): with 'truncate' only the first maxLength tokens
  // survive, so text beyond the budget is cut before encoding; with 'drop' that much text is already
  // too long, so it is not encoded at all.
  const longest = longestTokenChars(tok)
  const budget = opts.truncation === 'split' ? Infinity : messageBudget(opts.maxLength, longest)
  for await (const doc of documents) {
    r.conversations++
    r.rendered++
    if (doc.text.length > budget && opts.truncation === 'drop') {
      r.dropped++
      // a lower bound: one token covers at most `longest` characters
      const atLeast = Math.ceil(doc.text.length / longest)
      if (atLeast > r.droppedLongest) [r.droppedLongest, r.droppedLongestExact] = [atLeast, false]
      continue
    }
    const text = doc.text.length > budget ? cutToBudget([{ role: 'user', content: doc.text }], budget).messages[0]!.content : doc.text
    const ids = [...(tok.addBos && tok.bos ? [tok.bos.id] : []), ...tok.encode(text), tok.eos.id]
    r.eosChecked++
    if (ids.length <= opts.maxLength) await emit(ids)
    else if (opts.truncation === 'drop') {
      r.dropped++
      if (ids.length > r.droppedLongest || (ids.length === r.droppedLongest && !r.droppedLongestExact)) [r.droppedLongest, r.droppedLongestExact] = [ids.length, true]
    }
    else if (opts.truncation === 'truncate') {
      r.truncated++
      await emit(ids.slice(0, opts.maxLength))
    } else {
      r.split++
      // a last piece of one token predicts nothing: it is left out
      for (let start = 0; start < ids.length; start += opts.maxLength) {
        const piece = ids.slice(start, start + opts.maxLength)
        if (piece.length < 2) {
          r.unlabelledPieces++
          continue
        }
        r.splitPieces++
        await emit(piece)
      }
    }
  }
  if (r.samples === 0) r.issues.push(issue('EmptyDataset', { path: 'data' }, 'tokenize'))
  const fatal = r.issues.filter((i) => i.severity === 'error')
  if (fatal.length > 0) throw Object.assign(new TunekitError(fatal), { report: r })
  return r
}
