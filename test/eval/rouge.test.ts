// ROUGE-L against rouge-score 0.1.2 on seeded corpora, with and without its Porter stemmer (NLTK's),
// with several references (score_multi) and with a tokenizer of one's own (Chinese characters).
import { describe, expect, it } from 'vitest'
import { mulberry32 } from '@tunekit/core'
import { corpusRougeL, porterStem, rougeL, rougeTokenize, tokenizeZh, type RougeScore } from '@tunekit/eval'
import { makeCorpus, pick } from './corpus.ts'
import { close, referenceJson } from './reference.ts'

const ROUGE_SCORE = `
from rouge_score import rouge_scorer, tokenize
from nltk.stem import porter
from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh
class ZhTokenizer:
    zh = TokenizerZh()
    def tokenize(self, text):
        return self.zh(text).split()
stemmer = porter.PorterStemmer()
def triple(s):
    return {'precision': s.precision, 'recall': s.recall, 'fmeasure': s.fmeasure}
out = {'stems': [stemmer.stem(w) for w in data['words']], 'corpora': []}
for case in data['corpora']:
    if case['tokenizer'] == 'zh':
        scorer = rouge_scorer.RougeScorer(['rougeL'], tokenizer=ZhTokenizer())
        tokens = [ZhTokenizer().tokenize(t) for t in case['texts']]
    else:
        scorer = rouge_scorer.RougeScorer(['rougeL'], use_stemmer=case['stemmer'])
        tokens = [tokenize.tokenize(t, stemmer if case['stemmer'] else None) for t in case['texts']]
    out['corpora'].append({'tokens': tokens, 'scores': [triple(scorer.score_multi(r, h)['rougeL']) for h, r in zip(case['hypotheses'], case['references'])]})
print(json.dumps(out))
`

// Words through every rule of the stemmer: stems × suffixes, the irregular forms, and seeded strings
// heavy in y (its consonant / vowel rule) and doubled letters.
const STEMS = (
  'relat condit valen hesit digit conform radic differ vil analog vietnam predic oper feud decis hope callous formal sensitiv ' +
  'sensib triplic electr good reviv allow infer airlin gyroscop adjust defens irrit replac depend adopt homolog commun activ ' +
  'angular effect bowdler prob rat ceas control roll fli di ti happ enjoy motor plaster bled sing conflat troubl siz hop tann ' +
  'fall hiss fizz fail fil caress poni cat feed agre geo theo archaeo spi tr sy syzyg toy b ow by yy'
).split(' ')
const SUFFIXES = (
  '- s es ed ing ies ied y ly ness ful ational tional ization ation ator alism iveness fulness ousness aliti iviti biliti fulli ' +
  'logi logy icate ative alize iciti ical ance ence er ic able ible ant ement ment ent ion sion tion ou ism ate iti ous ive ize e ' +
  'll alli bli eli ousli entli enci anci izer eed yy ying yed'
).split(' ').map((s) => (s === '-' ? '' : s))
const IRREGULAR = 'sky skies dying lying tying news innings inning outings outing cannings canning howe proceed exceed succeed'.split(' ')

function stemmerWords(): string[] {
  const random = mulberry32(11)
  const seeded = Array.from({ length: 400 }, () => Array.from({ length: 3 + Math.floor(random() * 9) }, () => pick(random, [...'aeiouyybcdlmnrsstz'])).join(''))
  return [...STEMS.flatMap((stem) => SUFFIXES.map((suffix) => stem + suffix)), ...IRREGULAR, ...seeded]
}

const corpora = [
  { name: 'English', corpus: makeCorpus(21, 300, 'en'), stemmer: false, tokenizer: 'default' },
  { name: 'English, stemmed', corpus: makeCorpus(22, 300, 'en'), stemmer: true, tokenizer: 'default' },
  { name: 'mixed English and Chinese', corpus: makeCorpus(23, 200, 'mixed'), stemmer: false, tokenizer: 'default' },
  { name: 'mixed, stemmed', corpus: makeCorpus(24, 200, 'mixed'), stemmer: true, tokenizer: 'default' },
  { name: 'Chinese with the zh tokenizer', corpus: makeCorpus(25, 200, 'zh'), stemmer: false, tokenizer: 'zh' },
] as const
const words = stemmerWords()
const expected = referenceJson<{ stems: string[]; corpora: { tokens: string[][]; scores: RougeScore[] }[] }>(ROUGE_SCORE, {
  words,
  corpora: corpora.map(({ corpus, stemmer, tokenizer }) => ({ ...corpus, texts: [...corpus.hypotheses, ...corpus.references.flat()], stemmer, tokenizer })),
})

describe('the Porter stemmer', () => {
  it("stems every word as NLTK's PorterStemmer does", () => {
    const differ = words.map((w, i) => [w, porterStem(w), expected.stems[i]]).filter(([, ours, theirs]) => ours !== theirs)
    expect(differ).toEqual([])
    expect(words.length).toBeGreaterThan(5000)
    // the rules are exercised: most words change
    expect(expected.stems.filter((s, i) => s !== words[i]).length).toBeGreaterThan(words.length / 2)
  })
})

describe.each(corpora.map((c, i) => [c.name, c, expected.corpora[i]!] as const))('ROUGE-L on %s', (_, { corpus, stemmer, tokenizer }, reference) => {
  const options = tokenizer === 'zh' ? { tokenize: tokenizeZh } : { useStemmer: stemmer }

  it('tokenizes every text as rouge-score does', () => {
    const texts = [...corpus.hypotheses, ...corpus.references.flat()]
    expect(texts.map((t) => (tokenizer === 'zh' ? tokenizeZh(t) : rougeTokenize(t, stemmer)))).toEqual(reference.tokens)
  })

  it('equals RougeScorer([rougeL]).score_multi on every pair', () => {
    corpus.hypotheses.forEach((hypothesis, i) => {
      const ours = rougeL(hypothesis, corpus.references[i]!, options)
      const theirs = reference.scores[i]!
      for (const key of ['precision', 'recall', 'fmeasure'] as const) close(ours[key], theirs[key], `pair ${i} ${key}`)
    })
    expect(reference.scores.some((s) => s.fmeasure > 0 && s.fmeasure < 1)).toBe(true)
  })

  it('averages the pairs for the corpus', () => {
    const mean = (key: keyof RougeScore): number => reference.scores.reduce((sum, s) => sum + s[key], 0) / reference.scores.length
    const ours = corpusRougeL(corpus.hypotheses, corpus.references, options)
    for (const key of ['precision', 'recall', 'fmeasure'] as const) close(ours[key], mean(key), `corpus ${key}`)
  })
})

describe('ROUGE-L by hand', () => {
  it('takes the longest common subsequence and the best reference', () => {
    // LCS of "the cat sat on the mat" and "the cat lay on a mat": the cat on mat (4 of 6 each)
    expect(rougeL('the cat lay on a mat', 'the cat sat on the mat').fmeasure).toBeCloseTo(4 / 6, 12)
    expect(rougeL('the cat', ['a dog', 'the cat']).fmeasure).toBe(1)
    expect(rougeL('', 'the cat')).toEqual({ precision: 0, recall: 0, fmeasure: 0 })
    // rouge-score keeps only a–z and 0–9: Chinese text has no tokens with the default tokenizer
    expect(rougeTokenize('我们今天 OK')).toEqual(['ok'])
  })
})
