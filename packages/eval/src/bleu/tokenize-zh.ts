import { pyStrip } from '../text/python-text.ts'
import { tokenizeRegexp } from './tokenize-13a.ts'

// sacrebleu's _UCODE_RANGES, as Python compares them. Three of its bounds are written as five hex
// digits inside a four-digit escape ('\u20000' is U+2000 followed by '0'), so Python compares the one
// character against a two-character string: U+20000–U+2A6D6 is really U+2001–U+2A6D (general
// punctuation, currency and arrows count as Chinese) and U+2F800–U+2FA1D is U+2F81–U+2FA1. The
// ranges below are the ones sacrebleu 2.6.0 applies, so the scores match it, quirks included.
const CHINESE_RANGES: readonly (readonly [number, number])[] = [
  [0x3400, 0x4db5], // CJK Unified Ideographs Extension A
  [0x4e00, 0x9fa5], // CJK Unified Ideographs
  [0x9fa6, 0x9fbb], // CJK Unified Ideographs, Unicode 4.1
  [0xf900, 0xfa2d], // CJK Compatibility Ideographs
  [0xfa30, 0xfa6a],
  [0xfa70, 0xfad9],
  [0x2001, 0x2a6d], // written U+20000–U+2A6D6 (Extension B) in sacrebleu, see above
  [0x2f81, 0x2fa1], // written U+2F800–U+2FA1D (Compatibility Supplement) in sacrebleu
  [0xff00, 0xffef], // full-width ASCII and punctuation, half-width kana, Hangul
  [0x2e80, 0x2eff], // CJK Radicals Supplement
  [0x3000, 0x303f], // CJK punctuation
  [0x31c0, 0x31ef], // CJK strokes
  [0x2f00, 0x2fdf], // Kangxi Radicals
  [0x2ff0, 0x2fff], // ideographic description characters
  [0x3100, 0x312f], // Bopomofo
  [0x31a0, 0x31bf], // Bopomofo extended
  [0xfe10, 0xfe1f],
  [0xfe30, 0xfe4f],
  [0x2600, 0x26ff],
  [0x2700, 0x27bf],
  [0x3200, 0x32ff],
  [0x3300, 0x33ff],
]

const isChinese = (codePoint: number): boolean => CHINESE_RANGES.some(([start, end]) => codePoint >= start && codePoint <= end)

/**
 * sacrebleu's `zh` tokenizer: every Chinese character (by sacrebleu's ranges) becomes a token, the
 * rest is split as `13a`'s regexp part does (without its `<skipped>` and entity handling).
 *
 * @see sacrebleu 2.6.0, `sacrebleu/tokenizers/tokenizer_zh.py` (TokenizerZh) — the reference.
 */
export function tokenizeZh(line: string): string[] {
  let spaced = ''
  for (const char of pyStrip(line)) spaced += isChinese(char.codePointAt(0)!) ? ` ${char} ` : char
  return tokenizeRegexp(spaced)
}
