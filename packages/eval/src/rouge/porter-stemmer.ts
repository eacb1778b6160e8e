// The Porter stemmer as NLTK runs it by default (mode NLTK_EXTENSIONS), which rouge-score's
// `use_stemmer=True` calls: Porter (1980) with Martin Porter's later changes and NLTK's own (a
// table of irregular forms, 'ies'/'ied' on four-letter words, y → i only after a consonant,
// 'alli' first, 'fulli', 'logi'). Each step below is NLTK's method of the same name.
//
// @see nltk 3.10.4 `nltk/stem/porter.py` (PorterStemmer) — the reference, pinned in test/reference.
// @see https://tartarus.org/martin/PorterStemmer/ — the algorithm.

/** A suffix rule: the suffix, what replaces it, the condition on the stem left (none: always). */
type Rule = readonly [suffix: string, replacement: string, condition?: (stem: string) => boolean]

const IRREGULAR: Record<string, string> = {
  sky: 'sky', skies: 'sky', dying: 'die', lying: 'lie', tying: 'tie', news: 'news',
  innings: 'inning', inning: 'inning', outings: 'outing', outing: 'outing', cannings: 'canning', canning: 'canning',
  howe: 'howe', proceed: 'proceed', exceed: 'exceed', succeed: 'succeed',
}

const isVowel = (char: string | undefined): boolean => char === 'a' || char === 'e' || char === 'i' || char === 'o' || char === 'u'

/** Consonant flags of every letter: y is a consonant at the start or after a vowel, a vowel after a consonant. */
function consonants(word: string): boolean[] {
  const flags: boolean[] = []
  for (let i = 0; i < word.length; i++) {
    const char = word[i]
    flags.push(isVowel(char) ? false : char === 'y' ? i === 0 || !flags[i - 1] : true)
  }
  return flags
}

const isConsonant = (word: string, i: number): boolean => consonants(word)[i]!

/** m in [C](VC)^m[V]: the number of vowel-consonant boundaries. */
function measure(stem: string): number {
  const flags = consonants(stem)
  let m = 0
  for (let i = 1; i < flags.length; i++) if (!flags[i - 1] && flags[i]) m++
  return m
}

const positiveMeasure = (stem: string): boolean => measure(stem) > 0
const measureAbove1 = (stem: string): boolean => measure(stem) > 1
const containsVowel = (stem: string): boolean => consonants(stem).some((c) => !c)
const endsDoubleConsonant = (word: string): boolean => word.length >= 2 && word.at(-1) === word.at(-2) && isConsonant(word, word.length - 1)

/** *o: the stem ends consonant-vowel-consonant, the last not w, x or y; or (NLTK) is a two-letter vowel-consonant. */
function endsCvc(word: string): boolean {
  const n = word.length
  return (
    (n >= 3 && isConsonant(word, n - 3) && !isConsonant(word, n - 2) && isConsonant(word, n - 1) && !'wxy'.includes(word.at(-1)!)) ||
    (n === 2 && !isConsonant(word, 0) && isConsonant(word, 1))
  )
}

const withoutSuffix = (word: string, suffix: string): string => word.slice(0, word.length - suffix.length)

/** NLTK's `_apply_rule_list`: the first rule whose suffix matches decides, applied or not. `*d` is a double consonant. */
function applyRules(word: string, rules: readonly Rule[]): string {
  for (const [suffix, replacement, condition] of rules) {
    if (suffix === '*d' && endsDoubleConsonant(word)) {
      const stem = word.slice(0, -2)
      return !condition || condition(stem) ? stem + replacement : word
    }
    if (word.endsWith(suffix)) {
      const stem = withoutSuffix(word, suffix)
      return !condition || condition(stem) ? stem + replacement : word
    }
  }
  return word
}

function step1a(word: string): string {
  if (word.endsWith('ies') && word.length === 4) return withoutSuffix(word, 'ies') + 'ie'
  return applyRules(word, [['sses', 'ss'], ['ies', 'i'], ['ss', 'ss'], ['s', '']])
}

function step1b(word: string): string {
  if (word.endsWith('ied')) return withoutSuffix(word, 'ied') + (word.length === 4 ? 'ie' : 'i')
  if (word.endsWith('eed')) {
    const stem = withoutSuffix(word, 'eed')
    return measure(stem) > 0 ? stem + 'ee' : word
  }
  const suffix = ['ed', 'ing'].find((s) => word.endsWith(s) && containsVowel(withoutSuffix(word, s)))
  if (suffix === undefined) return word
  const stem = withoutSuffix(word, suffix)
  const last = stem.at(-1) ?? ''
  return applyRules(stem, [
    ['at', 'ate'],
    ['bl', 'ble'],
    ['iz', 'ize'],
    ['*d', last, () => !'lsz'.includes(last)],
    ['', 'e', (s) => measure(s) === 1 && endsCvc(s)],
  ])
}

const step1c = (word: string): string => applyRules(word, [['y', 'i', (stem) => stem.length > 1 && isConsonant(stem, stem.length - 1)]])

function step2(word: string): string {
  if (word.endsWith('alli') && positiveMeasure(withoutSuffix(word, 'alli'))) return step2(withoutSuffix(word, 'alli') + 'al')
  return applyRules(word, [
    ['ational', 'ate', positiveMeasure],
    ['tional', 'tion', positiveMeasure],
    ['enci', 'ence', positiveMeasure],
    ['anci', 'ance', positiveMeasure],
    ['izer', 'ize', positiveMeasure],
    ['bli', 'ble', positiveMeasure],
    ['alli', 'al', positiveMeasure],
    ['entli', 'ent', positiveMeasure],
    ['eli', 'e', positiveMeasure],
    ['ousli', 'ous', positiveMeasure],
    ['ization', 'ize', positiveMeasure],
    ['ation', 'ate', positiveMeasure],
    ['ator', 'ate', positiveMeasure],
    ['alism', 'al', positiveMeasure],
    ['iveness', 'ive', positiveMeasure],
    ['fulness', 'ful', positiveMeasure],
    ['ousness', 'ous', positiveMeasure],
    ['aliti', 'al', positiveMeasure],
    ['iviti', 'ive', positiveMeasure],
    ['biliti', 'ble', positiveMeasure],
    ['fulli', 'ful', positiveMeasure],
    // the l of 'logi' stays with the stem, so short stems (geo-, theo-) qualify
    ['logi', 'log', () => positiveMeasure(word.slice(0, -3))],
  ])
}

const step3 = (word: string): string =>
  applyRules(word, [
    ['icate', 'ic', positiveMeasure],
    ['ative', '', positiveMeasure],
    ['alize', 'al', positiveMeasure],
    ['iciti', 'ic', positiveMeasure],
    ['ical', 'ic', positiveMeasure],
    ['ful', '', positiveMeasure],
    ['ness', '', positiveMeasure],
  ])

const step4 = (word: string): string =>
  applyRules(word, [
    ...['al', 'ance', 'ence', 'er', 'ic', 'able', 'ible', 'ant', 'ement', 'ment', 'ent'].map((s): Rule => [s, '', measureAbove1]),
    ['ion', '', (stem) => measure(stem) > 1 && 'st'.includes(stem.at(-1)!)],
    ...['ou', 'ism', 'ate', 'iti', 'ous', 'ive', 'ize'].map((s): Rule => [s, '', measureAbove1]),
  ])

function step5a(word: string): string {
  if (!word.endsWith('e')) return word
  const stem = word.slice(0, -1)
  const m = measure(stem)
  return m > 1 || (m === 1 && !endsCvc(stem)) ? stem : word
}

const step5b = (word: string): string => applyRules(word, [['ll', 'l', () => measure(word.slice(0, -1)) > 1]])

/**
 * The stem of a word by NLTK's default Porter stemmer (`PorterStemmer().stem(word)`): lower-cased,
 * words of one or two letters kept as they are.
 */
export function porterStem(word: string): string {
  const lower = word.toLowerCase()
  const irregular = Object.hasOwn(IRREGULAR, lower) ? IRREGULAR[lower] : undefined
  if (irregular !== undefined) return irregular
  if (word.length <= 2) return lower
  return [step1a, step1b, step1c, step2, step3, step4, step5a, step5b].reduce((stem, step) => step(stem), lower)
}
