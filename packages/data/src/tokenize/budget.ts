// Work bounded by what is kept: with truncation 'truncate' only the first maxLength tokens of a
// rendered conversation survive, so message text far beyond them can be cut before rendering and
// tokenizing; with 'drop' that much text already makes the sample too long.
//
// Why the cut is safe: a tokenizer that round-trips (the tokenize step checks it) covers every
// character of the text with tokens, and one token decodes to at most `longest` characters (the
// longest vocabulary entry: byte-level and metaspace entries are at least as long as their text).
// So B characters of message text yield at least B / longest tokens; with
// B = (maxLength + MARGIN) * longest they alone fill maxLength tokens with MARGIN to spare, and
// the text after them (in that message or later ones) cannot move a kept token. MARGIN absorbs the few tokens next to the cut
// that a shorter text merges differently.
import type { Message } from '../formats/conversation.ts'
import type { LoadedTokenizer } from '../tokenizer/load.ts'

/** Tokens kept in hand beyond maxLength, for merges that differ next to the cut. */
export const MARGIN = 16

const longestCache = new WeakMap<LoadedTokenizer, number>()

/** The most characters one token can decode to, bounded above by the longest vocabulary entry. */
export function longestTokenChars(tok: LoadedTokenizer): number {
  const known = longestCache.get(tok)
  if (known !== undefined) return known
  let longest = 1
  const vocab = tok.json.model.vocab
  const tokens = Array.isArray(vocab) ? vocab.map(([t]) => t) : Object.keys(vocab)
  for (const t of tokens) if (t.length > longest) longest = t.length
  for (const t of tok.json.added_tokens) if (t.content.length > longest) longest = t.content.length
  longestCache.set(tok, longest)
  return longest
}

/** Characters of one message that can still reach the first `maxLength` tokens. */
export const messageBudget = (maxLength: number, longest: number): number => (maxLength + MARGIN) * longest

/**
 * The messages with their contents cut so that together they hold at most `budget` characters:
 * each message keeps what the budget has left after the ones before it (never splitting a
 * surrogate pair; a cut in whitespace keeps the next visible character), so later messages keep
 * their roles and turn structure but not their text. `chars` is the characters of all contents;
 * `cut` is false, and the messages are the same objects, when they fit. Assumes what every
 * built-in template does: a message's content is rendered in place (perhaps trimmed), and the
 * text before it does not depend on it.
 */
export function cutToBudget(messages: readonly Message[], budget: number): { messages: readonly Message[]; cut: boolean; chars: number } {
  let chars = 0
  for (const m of messages) chars += m.content.length
  if (chars <= budget) return { messages, cut: false, chars }
  let left = budget
  const out = messages.map((m) => {
    const allowance = left
    left = Math.max(0, left - m.content.length)
    return m.content.length > allowance ? { ...m, content: cutText(m.content, allowance) } : m
  })
  return { messages: out, cut: true, chars }
}

/** The first `budget` characters of `text`, by the rules of {@link cutToBudget}. */
function cutText(text: string, budget: number): string {
  const high = budget > 0 && text.charCodeAt(budget - 1) >= 0xd800 && text.charCodeAt(budget - 1) <= 0xdbff
  const cut = text.slice(0, high ? budget - 1 : budget)
  // A template may trim content (llama-2 does): a cut that ends in whitespace keeps the next
  // visible character, so the whitespace before it is not trimmed away when the full text's isn't.
  if (!/\s$/.test(cut)) return cut
  const next = text.slice(cut.length).search(/\S/)
  return next < 0 ? cut : cut + String.fromCodePoint(text.codePointAt(cut.length + next)!)
}
