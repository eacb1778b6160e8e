// Python's idea of white space, so that splitting and stripping here give the same tokens as the
// Python references (sacrebleu, the SQuAD scripts), which call `str.split()` and `str.strip()`.
// Python counts the ASCII separators \x1c–\x1f and U+0085 as white space and U+FEFF not; JavaScript's
// `\s` does the opposite, so `\s` would tokenise some inputs differently.

/** The characters for which Python's `str.isspace()` is true. */
const PY_SPACE = '\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000'
const SPLIT = new RegExp(`[${PY_SPACE}]+`, 'u')
const LEADING = new RegExp(`^[${PY_SPACE}]+`, 'u')
const TRAILING = new RegExp(`[${PY_SPACE}]+$`, 'u')

/** Python's `text.split()`: the runs of non-space characters, never an empty string. */
export function pySplit(text: string): string[] {
  return text.split(SPLIT).filter((token) => token.length > 0)
}

/** Python's `text.rstrip()`. */
export const pyRstrip = (text: string): string => text.replace(TRAILING, '')

/** Python's `text.strip()`. */
export const pyStrip = (text: string): string => pyRstrip(text).replace(LEADING, '')
