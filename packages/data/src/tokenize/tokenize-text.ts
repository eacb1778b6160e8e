import { issue, TunekitError } from '@tunekit/core'
import type { Document } from '../formats/conversation.ts'
import type { LoadedTokenizer } from '../tokenizer/load.ts'
import type { TokenizedSample, TokenizeReport, Truncation } from './tokenize.ts'

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
  const r: TokenizeReport = {
    template: 'none (raw text)', maskMode: 'all', maxLength: opts.maxLength, truncation: opts.truncation,
    conversations: 0, rendered: 0, samples: 0, tokens: 0, trainedTokens: 0, longest: 0, truncated: 0, dropped: 0, split: 0,
    splitPieces: 0, unlabelledPieces: 0, eosChecked: 0, eosMissing: 0, fullyMasked: 0, roundTripFailures: 0, skipped: [],
    eos: tok.eos, pad: tok.pad, issues: [],
  }
  const emit = async (ids: number[]): Promise<void> => {
    r.samples++
    r.tokens += ids.length
    r.longest = Math.max(r.longest, ids.length)
    r.trainedTokens += ids.length - 1 // position 0 predicts nothing
    await onSample({ ids, mask: new Uint8Array(ids.length).fill(1) })
  }
  for await (const doc of documents) {
    r.conversations++
    r.rendered++
    const ids = [...(tok.addBos && tok.bos ? [tok.bos.id] : []), ...tok.encode(doc.text), tok.eos.id]
    r.eosChecked++
    if (ids.length <= opts.maxLength) await emit(ids)
    else if (opts.truncation === 'drop') r.dropped++
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
