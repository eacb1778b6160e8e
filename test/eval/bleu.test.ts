// BLEU-4 against sacrebleu 2.6.0 on seeded corpora: tokens, corpus scores with their statistics,
// and every segment's sentence BLEU, for the 13a and zh tokenizers.
import { describe, expect, it } from 'vitest'
import { corpusBleu, sentenceBleu, tokenize13a, tokenizeZh, type BleuOptions, type BleuScore } from '@tunekit/eval'
import { makeCorpus, type Corpus } from './corpus.ts'
import { close, referenceJson } from './reference.ts'

// sacrebleu takes reference streams (stream k holds every segment's k-th reference, None where a
// segment has fewer); the corpus keeps each segment's references together.
const SACREBLEU = `
from sacrebleu.metrics import BLEU
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh
def streams(refs):
    k = max(len(r) for r in refs)
    return [[r[i] if i < len(r) else None for r in refs] for i in range(k)]
def stats(s):
    return {'score': s.score, 'counts': list(s.counts), 'totals': list(s.totals), 'precisions': list(s.precisions),
            'bp': s.bp, 'sysLen': s.sys_len, 'refLen': s.ref_len}
out = []
for case in data:
    o = case['options']
    kw = dict(tokenize=o.get('tokenize', '13a'), lowercase=o.get('lowercase', False),
              smooth_method=o.get('smooth', 'exp'), smooth_value=o.get('smoothValue'))
    hyps, refs = case['hypotheses'], case['references']
    corpus = BLEU(**kw).corpus_score(hyps, streams(refs))
    sentence = BLEU(**kw, effective_order=True)
    tok = Tokenizer13a() if kw['tokenize'] == '13a' else TokenizerZh()
    out.append({'corpus': stats(corpus),
                'sentences': [stats(sentence.sentence_score(h, r)) for h, r in zip(hyps, refs)],
                'tokens': [tok(x) for x in hyps + [r for rs in refs for r in rs]]})
print(json.dumps(out))
`

interface Case {
  name: string
  corpus: Corpus
  options: BleuOptions
}
const cases: Case[] = [
  { name: 'English, 13a', corpus: makeCorpus(1, 300, 'en'), options: {} },
  { name: 'Chinese, zh', corpus: makeCorpus(2, 300, 'zh'), options: { tokenize: 'zh' } },
  { name: 'mixed, zh', corpus: makeCorpus(3, 200, 'mixed'), options: { tokenize: 'zh' } },
  { name: 'mixed, 13a', corpus: makeCorpus(4, 200, 'mixed'), options: { tokenize: '13a' } },
  { name: 'English, 13a, lower-cased, floor smoothing', corpus: makeCorpus(5, 100, 'en'), options: { lowercase: true, smooth: 'floor' } },
  { name: 'English, 13a, add-k smoothing', corpus: makeCorpus(6, 100, 'en'), options: { smooth: 'add-k', smoothValue: 2 } },
  { name: 'English, 13a, no smoothing', corpus: makeCorpus(7, 100, 'en'), options: { smooth: 'none' } },
]

interface Expected {
  corpus: BleuScore
  sentences: BleuScore[]
  tokens: string[]
}
const expected = referenceJson<Expected[]>(SACREBLEU, cases.map((c) => ({ ...c.corpus, options: c.options })))

function sameScore(actual: BleuScore, reference: BleuScore, what: string): void {
  close(actual.score, reference.score, `${what} score`)
  close(actual.bp, reference.bp, `${what} brevity penalty`)
  expect([actual.sysLen, actual.refLen], what).toEqual([reference.sysLen, reference.refLen])
  expect(actual.counts, what).toEqual(reference.counts)
  expect(actual.totals, what).toEqual(reference.totals)
  actual.precisions.forEach((p, n) => close(p, reference.precisions[n]!, `${what} precision ${n + 1}`))
}

describe.each(cases.map((c, i) => [c.name, c, expected[i]!] as const))('BLEU-4 on %s', (_, { corpus, options }, reference) => {
  it('tokenizes every line as sacrebleu does', () => {
    const tokenize = options.tokenize === 'zh' ? tokenizeZh : tokenize13a
    const lines = [...corpus.hypotheses, ...corpus.references.flat()]
    expect(lines.map((line) => tokenize(line).join(' '))).toEqual(reference.tokens)
  })

  it('equals sacrebleu corpus_bleu, statistics included', () => {
    sameScore(corpusBleu(corpus.hypotheses, corpus.references, options), reference.corpus, 'corpus')
    expect(reference.corpus.score).toBeGreaterThan(5)
  })

  it("equals sacrebleu's sentence BLEU on every segment", () => {
    corpus.hypotheses.forEach((hypothesis, i) => sameScore(sentenceBleu(hypothesis, corpus.references[i]!, options), reference.sentences[i]!, `segment ${i}`))
  })
})

describe('BLEU-4 edge cases', () => {
  it('scores 0 without a match, 100 for a copy, and keeps the shorter reference on a length tie', () => {
    expect(corpusBleu([''], [['a b c d']]).score).toBe(0)
    expect(corpusBleu(['the cat sat on the mat'], [['the cat sat on the mat']]).score).toBeCloseTo(100, 10)
    // hypothesis of 4 tokens, references of 3 and 5: both 1 away, sacrebleu takes 3 (BP = 1)
    expect(corpusBleu(['a b c d'], [['a b c', 'a b c d e']]).refLen).toBe(3)
  })

  it('reports mismatched and missing references with the catalog', () => {
    expect(() => corpusBleu(['a', 'b'], [['a']])).toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: Predictions and references differ in number
      ✖ TK600 bleu got 2 predictions and 1 reference entry; prediction i is scored against reference entry i → at references
        value: {"predictions":2,"references":1}
        fix: Pass one reference entry per prediction, in the same order (an entry is a list of strings where the metric takes several references).]
    `)
    expect(() => corpusBleu(['a'], [[]])).toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: A prediction has no reference
      ✖ TK601 bleu: the references of prediction 0 are an empty list, so it cannot be scored → at references[0]
        value: []
        fix: Give at least one reference string per prediction, or leave the example out of the evaluation set.]
    `)
    // options read from JSON, where the type checker cannot stop sacrebleu's other tokenizers
    const fromJson = JSON.parse('{ "tokenize": "intl" }') as BleuOptions
    expect(() => corpusBleu(['a'], [['a']], fromJson)).toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: Metric option not supported
      ✖ TK604 BLEU tokenizer "intl" is not supported; supported: "13a", "zh", "none" → at tokenize
        value: "intl"
        fix: Use one of the supported values.]
    `)
  })
})
