// The eval group's metrics (scoreHeldOut) on hand-worked turns, against the metric functions they
// are built from, and the table the CLI prints.
import { describe, expect, it } from 'vitest'
import { formatScoreTable, referenceOf, rougeL, scoreHeldOut, scoreToolCalls, sentenceBleu, tokenizeZh, type ToolTurn } from '@tunekit/eval'

const call = (args: Record<string, string>): ToolTurn => ({ calls: [{ name: 'search_hotels', arguments: args }] })

// prediction, reference, what it is
const turns: [string, ToolTurn][] = [
  ['{"name": "search_hotels", "arguments": {"type": "经济型", "rating": "4.5"}}', call({ rating: '4.5', type: '经济型' })], // right, keys in another order
  ['{"name": "search_hotels", "arguments": {"type": "豪华型"}}', call({ type: '经济型', subway: '西单站' })], // 0 of 1 predicted, 2 missed
  ['为您找到如家酒店，价格320元。', call({ name: '如家酒店' })], // text for a call
  ['为您找到如家酒店，价格320元，评分4.7。', { text: '为您找到如家酒店，价格320元，评分4.7。' }], // right text
  ['I found Home Inn: 300 yuan.', { text: 'I found Home Inn: 320 yuan, rated 4.7.' }], // partly right
  ['{"name": "search_hotels", "arguments": {}}', { text: 'I found Ji Hotel.' }], // a call for text
]
const predictions = turns.map((t) => t[0])
const references = turns.map((t) => t[1])

describe('scoreHeldOut', () => {
  const all = scoreHeldOut(['bleu4', 'rougeL', 'exact', 'toolCalls'], predictions, references, { tokenize: 'zh' })

  it('BLEU-4 is the tool-call score\'s: mean sentence BLEU of the text turns, 0 for a call', () => {
    const text = [3, 4].map((i) => sentenceBleu(predictions[i]!, ['text' in references[i]! ? references[i].text : ''], { tokenize: 'zh' }).score)
    expect(all.bleu4).toBeCloseTo((text[0]! + text[1]! + 0) / 3, 12)
    expect(all.bleu4).toBeCloseTo(scoreToolCalls(predictions, references, { tokenize: 'zh' }).bleu4!, 12)
  })

  it('ROUGE-L is the mean F over the text turns, with the zh tokens', () => {
    const f = (i: number): number => rougeL(predictions[i]!, (references[i] as { text: string }).text, { tokenize: tokenizeZh }).fmeasure
    expect(all.rougeL).toBeCloseTo((100 * (f(3) + f(4) + 0)) / 3, 12)
    expect(f(3)).toBe(1)
  })

  it('exact match counts whole turns: the right call (keys in any order) and the right text', () => {
    expect(all.exactMatch).toBeCloseTo((100 * 2) / 6, 12)
  })

  it('slots follow the seed\'s rules: matched 2 of 3 predicted, of 5 in the references', () => {
    expect(all.slotPrecision).toBeCloseTo((100 * 2) / 3, 12)
    expect(all.slotRecall).toBeCloseTo(40, 12)
    expect(all.slotF1).toBeCloseTo(50, 12)
    expect(all.nameAccuracy).toBeCloseTo((100 * 2) / 3, 12)
    expect(all.jsonValidity).toBeCloseTo((100 * 2) / 3, 12)
  })

  it('computes only the metrics asked for; null where no turn of the kind exists', () => {
    expect(scoreHeldOut(['bleu4'], predictions.slice(0, 3), references.slice(0, 3))).toEqual({ bleu4: null })
    expect(Object.keys(scoreHeldOut(['toolCalls'], predictions, references))).toEqual(['slotPrecision', 'slotRecall', 'slotF1', 'nameAccuracy', 'jsonValidity'])
  })

  it('reads a reference turn written as call JSON as the call, anything else as text', () => {
    expect(referenceOf('{"name":"search_hotels","arguments":{"type":"经济型"}}')).toEqual(call({ type: '经济型' }))
    expect(referenceOf('I found Ji Hotel.')).toEqual({ text: 'I found Ji Hotel.' })
  })
})

describe('formatScoreTable', () => {
  it("prints the seed's columns first, a row per model, – where nothing was scored", () => {
    const rows = [
      { label: 'base', metrics: { bleu4: 1.234, slotPrecision: 0, slotRecall: 0, slotF1: 0, nameAccuracy: 0, jsonValidity: 0, rougeL: null } },
      { label: 'hotel-tools', metrics: { bleu4: 61.5, slotPrecision: 97.5, slotRecall: 95, slotF1: 96.2341, nameAccuracy: 100, jsonValidity: 100, rougeL: 70 } },
    ]
    expect(formatScoreTable(rows, ['toolCalls', 'rougeL', 'bleu4'])).toMatchInlineSnapshot(`
      "|             | BLEU-4 | SLOT-P | SLOT-R | SLOT-F1 | ROUGE-L | Name Acc. | JSON Valid |
      |-------------|-------:|-------:|-------:|--------:|--------:|----------:|-----------:|
      | base        |   1.23 |   0.00 |   0.00 |    0.00 |       – |      0.00 |       0.00 |
      | hotel-tools |  61.50 |  97.50 |  95.00 |   96.23 |   70.00 |    100.00 |     100.00 |"
    `)
  })
})
