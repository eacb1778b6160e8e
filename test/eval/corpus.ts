// Seeded test corpora for the metric tests: English and Chinese sentences with punctuation,
// numbers, HTML entities and odd white space, hypotheses made from references by seeded edits
// (drop, swap, substitute, case), empty hypotheses and 1–3 references per segment.
import { mulberry32 } from '@tunekit/core'

const WORDS = (
  'the a an cat cats dog dogs running runs ran happy happiness relational conditional generalization ' +
  'flies dying lying agreed feed hopping hopeful goodness electrical adjustable replacement adoption ' +
  'communism activate effective controlling rolled ponies caresses skies news innings proceed model ' +
  'models training trained evaluates evaluation answer answers question weather city Paris London ' +
  'temperature forecast sunny raining is was were be of to in on at for with by from and or not'
).split(' ')
const PUNCTUATION = [',', '.', '!', '?', ';', ':', '"', "'", '(', ')', '-', '&', '&amp;', '&quot;', '&lt;', '/', '%', '$', '—', '…', '“', '”', '’', '<skipped>']
const NUMBERS = ['3.14', '1,000', '2024-05-01', '-7', '10-20', '42', '0.5', '99%', '3,5', '1.', '.5', '2e10']
const HANZI = '我们今天天气很好明天会下雨北京上海模型训练评估问题答案城市温度预报晴朗的了是在有和不'
const ZH_PUNCTUATION = ['，', '。', '！', '？', '、', '：', '“', '”', '（', '）', '《', '》', '—', '…']
// Python's str.split() and JavaScript's \s disagree on some of these: \x1f and U+0085 are space to
// Python, U+FEFF is not.
const SPACES = [' ', ' ', ' ', ' ', '  ', '\t', '\u00a0', '\u3000', '\u2009', '\n', '\x1f', '\u0085', '\ufeff']

export type Random = () => number
export const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!
const chance = (random: Random, p: number): boolean => random() < p

function englishTokens(random: Random): string[] {
  const n = 1 + Math.floor(random() * 14)
  const tokens: string[] = []
  for (let i = 0; i < n; i++) {
    const r = random()
    let word = r < 0.75 ? pick(random, WORDS) : r < 0.88 ? pick(random, NUMBERS) : pick(random, PUNCTUATION)
    if (chance(random, 0.1)) word = word[0]!.toUpperCase() + word.slice(1)
    tokens.push(word)
  }
  return tokens
}

function chineseTokens(random: Random): string[] {
  const n = 2 + Math.floor(random() * 16)
  const tokens: string[] = []
  for (let i = 0; i < n; i++) {
    const r = random()
    tokens.push(r < 0.75 ? pick(random, [...HANZI]) : r < 0.85 ? pick(random, ZH_PUNCTUATION) : r < 0.93 ? pick(random, NUMBERS) : pick(random, WORDS))
  }
  return tokens
}

/** Joins tokens with seeded white space: mostly one space, sometimes none (Chinese) or an odd one. */
function join(random: Random, tokens: readonly string[], chinese: boolean): string {
  let text = ''
  tokens.forEach((token, i) => {
    if (i > 0) text += chinese && chance(random, 0.7) ? '' : chance(random, 0.85) ? ' ' : pick(random, SPACES)
    text += token
  })
  if (chance(random, 0.1)) text = pick(random, SPACES) + text
  if (chance(random, 0.1)) text += pick(random, SPACES)
  return text
}

/** A hypothesis made from reference tokens by seeded edits. */
function edit(random: Random, tokens: readonly string[], chinese: boolean): string[] {
  const out = tokens.filter(() => !chance(random, 0.15))
  for (let i = 0; i < out.length; i++) {
    if (chance(random, 0.12)) out[i] = chinese ? pick(random, [...HANZI]) : pick(random, WORDS)
    if (i > 0 && chance(random, 0.08)) [out[i - 1], out[i]] = [out[i]!, out[i - 1]!]
  }
  if (chance(random, 0.15)) out.push(chinese ? pick(random, ZH_PUNCTUATION) : pick(random, PUNCTUATION))
  return out
}

export interface Corpus {
  hypotheses: string[]
  /** references[i]: the 1–3 references of hypotheses[i]. */
  references: string[][]
}

/** `size` segments in the given language ('mixed': each segment drawn English or Chinese). */
export function makeCorpus(seed: number, size: number, language: 'en' | 'zh' | 'mixed'): Corpus {
  const random = mulberry32(seed)
  const hypotheses: string[] = []
  const references: string[][] = []
  for (let s = 0; s < size; s++) {
    const chinese = language === 'zh' || (language === 'mixed' && chance(random, 0.5))
    const base = chinese ? chineseTokens(random) : englishTokens(random)
    const refs = [join(random, base, chinese)]
    const extra = Math.floor(random() * 3)
    for (let k = 0; k < extra; k++) refs.push(join(random, edit(random, base, chinese), chinese))
    references.push(refs)
    // about one hypothesis in twelve is empty, one in ten unrelated to its references
    const r = random()
    const tokens = r < 0.08 ? [] : r < 0.18 ? (chinese ? chineseTokens(random) : englishTokens(random)) : edit(random, base, chinese)
    hypotheses.push(join(random, tokens, chinese))
  }
  return { hypotheses, references }
}
