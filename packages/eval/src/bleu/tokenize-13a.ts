import { pySplit } from '../text/python-text.ts'

// sacrebleu's TokenizerRegexp (sacrebleu/tokenizers/tokenizer_re.py, 2.6.0), the language-dependent
// part of mteval-v13a.pl shared by the `13a` and `zh` tokenizers, rule for rule and in order.
const RULES: readonly (readonly [RegExp, string])[] = [
  // every ASCII symbol except . , - ' becomes a token of its own: {|}~ [\]^_` space!"#$%& ()*+ :;<=>?@ /
  [/([\x7b-\x7e\x5b-\x60\x20-\x26\x28-\x2b\x3a-\x40\x2f])/gu, ' $1 '],
  // period and comma, unless preceded by a digit
  [/([^0-9])([.,])/gu, '$1 $2 '],
  // period and comma, unless followed by a digit
  [/([.,])([^0-9])/gu, ' $1 $2'],
  // a dash after a digit
  [/([0-9])(-)/gu, '$1 $2 '],
]

/** sacrebleu's regexp post-tokenizer: the rules above, then Python's `split()`. */
export function tokenizeRegexp(line: string): string[] {
  let text = line
  for (const [pattern, replacement] of RULES) text = text.replace(pattern, replacement)
  return pySplit(text)
}

/**
 * sacrebleu's default `13a` tokenizer (mteval-v13a, the one WMT uses): drops `<skipped>`, joins
 * lines, unescapes the four HTML entities, then splits punctuation off words.
 *
 * @see sacrebleu 2.6.0, `sacrebleu/tokenizers/tokenizer_13a.py` (Tokenizer13a) — the reference.
 */
export function tokenize13a(line: string): string[] {
  let text = line.replaceAll('<skipped>', '').replaceAll('-\n', '').replaceAll('\n', ' ')
  if (text.includes('&')) {
    text = text.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>')
  }
  return tokenizeRegexp(` ${text} `)
}
