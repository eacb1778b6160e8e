import type { LoadedTokenizer } from '../tokenizer/load.ts'

/** A character range `[start, end)` of a text whose tokens are labels. */
export interface CharSpan {
  start: number
  end: number
}

/** Token ids of a text, the label mask, and where each span ended in tokens. */
export interface EncodedText {
  ids: number[]
  /** 1 where the token is a supervised label. */
  mask: Uint8Array
  /** Per span: token index range `[start, end)`. */
  spans: { start: number; end: number }[]
  /** Per atomic-token-free chunk that did not survive encode → decode: the chunk text. */
  roundTripFailures: string[]
}

/** An encoder that splits at atomic (added) tokens and caches short chunks (`user\n`, `assistant\n`, `\n`). */
export interface SpanEncoder {
  encode: (text: string, spans: readonly CharSpan[], checkRoundTrip: boolean) => EncodedText
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * Encodes text so that character spans map to token ranges without searching the token stream:
 * the text is cut at added tokens (each is one id, as the tokenizer itself does), each piece is
 * encoded, and a span edge inside a piece is placed after the tokens that `encode(piece[0:edge])`
 * shares with `encode(piece)`. A token that straddles an edge goes to the right side of it.
 */
export function spanEncoder(tok: LoadedTokenizer): SpanEncoder {
  // an added token with lstrip / rstrip swallows the whitespace beside it, as the tokenizer does
  const flags = new Map(tok.json.added_tokens.map((t) => [t.content, t]))
  const pattern = (content: string): string => {
    const t = flags.get(content)
    return `${t?.lstrip ? '\\s*' : ''}${escape(content)}${t?.rstrip ? '\\s*' : ''}`
  }
  const splitter = tok.atomic.length > 0 ? new RegExp(tok.atomic.map(pattern).join('|'), 'g') : undefined
  const stripped = tok.json.added_tokens.some((t) => t.lstrip || t.rstrip)
  const idOfMatch = (match: string): number => tok.idOf(match) ?? tok.idOf(tok.atomic.find((a) => match.includes(a))!)!
  const cache = new Map<string, number[]>()
  const encodeCached = (text: string): number[] => {
    if (text.length > 48) return tok.encode(text)
    let ids = cache.get(text)
    if (!ids) {
      ids = tok.encode(text)
      if (cache.size > 50_000) cache.clear()
      cache.set(text, ids)
    }
    return ids
  }
  const commonPrefix = (a: readonly number[], b: readonly number[]): number => {
    let i = 0
    while (i < a.length && i < b.length && a[i] === b[i]) i++
    return i
  }

  return {
    encode(text, spans, checkRoundTrip) {
      const ids: number[] = []
      // span edges in character order, resolved to token indices as pieces are encoded
      const edges = [...new Set(spans.flatMap((s) => [s.start, s.end]))].sort((a, b) => a - b)
      const at = new Map<number, number>()
      let e = 0
      const roundTripFailures: string[] = []
      const piece = (from: number, to: number): void => {
        const chunk = text.slice(from, to)
        const chunkIds = encodeCached(chunk)
        while (e < edges.length && edges[e]! < to) {
          const edge = edges[e++]!
          at.set(edge, ids.length + (edge <= from ? 0 : commonPrefix(encodeCached(chunk.slice(0, edge - from)), chunkIds)))
        }
        if (checkRoundTrip && tok.decode(chunkIds) !== chunk) roundTripFailures.push(chunk)
        for (const id of chunkIds) ids.push(id)
      }
      let last = 0
      if (splitter) {
        splitter.lastIndex = 0
        for (const m of text.matchAll(splitter)) {
          if (m.index > last) piece(last, m.index)
          while (e < edges.length && edges[e]! <= m.index) at.set(edges[e++]!, ids.length)
          ids.push(stripped ? idOfMatch(m[0]) : tok.idOf(m[0])!)
          last = m.index + m[0].length
        }
      }
      if (last < text.length) piece(last, text.length)
      while (e < edges.length) at.set(edges[e++]!, ids.length)
      const mask = new Uint8Array(ids.length)
      const tokenSpans = spans.map((s) => ({ start: at.get(s.start)!, end: at.get(s.end)! }))
      for (const s of tokenSpans) mask.fill(1, s.start, s.end)
      return { ids, mask, spans: tokenSpans, roundTripFailures }
    },
  }
}
