// Tool-call metrics on hand-worked turns (no reference implementation exists for them), and the
// scoreGenerations front door.
import { describe, expect, it } from 'vitest'
import {
  canonicalValue, corpusBleu, corpusRougeL, formatToolCallTable, generationMetrics, parseToolCalls, scoreGenerations,
  scoreToolCalls, sentenceBleu, squadV1, toolCallReport, type ToolTurn,
} from '@tunekit/eval'
import { makeCorpus } from './corpus.ts'

const weather = (args: Record<string, string | number>): ToolTurn => ({ calls: [{ name: 'get_weather', arguments: args }] })

// Eight turns worked out by hand (slots: matched / predicted / reference).
const turns: [prediction: string, reference: ToolTurn, why: string][] = [
  ['{"name": "get_weather", "arguments": {"city": "Paris", "days": "3"}}', weather({ city: 'Paris', days: 3 }), 'right; "3" ≡ 3: 2/2/2'],
  ['<tool_call>{"name": "get_forecast", "arguments": {"city": "London", "unit": "fahrenheit"}}</tool_call>', weather({ city: 'London', unit: 'celsius' }), 'wrong name, one slot: 1/2/2'],
  [
    '```json\n{"name": "book", "arguments": {"when": {"month": 2, "day": 1}, "tags": ["b", "a"]}}\n```',
    { calls: [{ name: 'book', arguments: { tags: ['a', 'b'], when: { day: 1, month: 2 } } }] },
    'keys in any order, lists in order: 1/2/2',
  ],
  [
    '[{"name": "search", "arguments": {"q": "y"}}, {"name": "search", "arguments": {"q": "x"}}]',
    { calls: [{ name: 'search', arguments: { q: 'x' } }, { name: 'search', arguments: { q: 'y' } }] },
    'two calls in another order: 2/2/2',
  ],
  ['I think it is noon.', { calls: [{ name: 'get_time', arguments: { tz: 'UTC' } }] }, 'text for a call: 0/0/1'],
  ['{"name": "f", "arguments": {"a": 1}', { calls: [{ name: 'f', arguments: { a: 1 } }] }, 'broken JSON: 0/0/1'],
  ['The capital of France is Paris.', { text: 'The capital of France is Paris.' }, 'text: BLEU 100'],
  ['{"name": "get_weather", "arguments": {"city": "Paris"}}', { text: 'It is sunny today.' }, 'a call for text: BLEU 0, 0/1/0'],
]

describe('tool-call metrics', () => {
  const score = scoreToolCalls(turns.map((t) => t[0]), turns.map((t) => t[1]))

  it('counts slots, names, validity and BLEU as worked out by hand', () => {
    expect(score.slots).toEqual({ matched: 6, predicted: 9, reference: 10 })
    expect(score.turns).toEqual({ total: 8, calls: 6, text: 2 })
    expect(score.slotPrecision).toBeCloseTo((100 * 6) / 9, 10)
    expect(score.slotRecall).toBeCloseTo(60, 10)
    // F1 = 2PR / (P + R) = 2 · (2/3) · 0.6 / (2/3 + 0.6) = 12/19
    expect(score.slotF1).toBeCloseTo((100 * 12) / 19, 10)
    expect(score.nameAccuracy).toBeCloseTo(50, 10)
    expect(score.jsonValidity).toBeCloseTo((100 * 4) / 6, 10)
    expect(score.bleu4).toBeCloseTo(50, 10)
  })

  it('prints the table a function-calling paper prints', () => {
    expect(formatToolCallTable(score, 'tiny-lora')).toMatchInlineSnapshot(`
      "|           | BLEU-4 | SLOT-P | SLOT-R | SLOT-F1 | Name Acc. | JSON Valid |
      |-----------|-------:|-------:|-------:|--------:|----------:|-----------:|
      | tiny-lora |  50.00 |  66.67 |  60.00 |   63.16 |     50.00 |      66.67 |"
    `)
    expect(toolCallReport(turns.map((t) => t[0]), turns.map((t) => t[1]), { label: 'tiny-lora' }).table).toBe(formatToolCallTable(score, 'tiny-lora'))
    const textOnly = scoreToolCalls(['hi'], [{ text: 'hi there' }])
    expect([textOnly.nameAccuracy, textOnly.jsonValidity]).toEqual([null, null])
    expect(formatToolCallTable(textOnly).split('\n')[2]).toContain('–')
  })

  it("scores text turns with sacrebleu's sentence BLEU, averaged over turns", () => {
    const { hypotheses, references } = makeCorpus(41, 60, 'mixed')
    const refs = references.map((r) => r[0]!)
    const s = scoreToolCalls(hypotheses, refs.map((text) => ({ text })), { tokenize: 'zh' })
    const mean = hypotheses.reduce((sum, h, i) => sum + sentenceBleu(h, [refs[i]!], { tokenize: 'zh' }).score, 0) / hypotheses.length
    expect(s.bleu4).toBeCloseTo(mean, 10)
    expect(s.slots).toEqual({ matched: 0, predicted: 0, reference: 0 })
  })

  it('reads string references as calls when they parse, as text otherwise', () => {
    const s = scoreToolCalls(['{"name": "f", "arguments": {"a": 1}}', 'hello'], ['{"name": "f", "arguments": {"a": "1"}}', 'hello'])
    expect([s.slotF1, s.nameAccuracy]).toEqual([100, 100])
    expect(s.bleu4).toBeCloseTo(100, 10)
  })

  it('rejects reference turns that are neither text nor calls, with the catalog', () => {
    expect(() => scoreToolCalls(['x'], [{ calls: [] }])).toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: A reference turn is neither text nor tool calls
      ✖ TK603 reference turn 0 has an empty "calls" list → at references[0].calls
        value: []
        fix: Write each reference turn as { text: "..." } or { calls: [{ name: "get_weather", arguments: { city: "Paris" } }] }; arguments is a JSON object (use {} for none).]
    `)
    const noArguments = JSON.parse('{ "calls": [{ "name": "f" }] }') as ToolTurn
    expect(() => scoreToolCalls(['x'], [noArguments])).toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: A reference turn is neither text nor tool calls
      ✖ TK603 call 0 of reference turn 0 is not { name: string, arguments: object } → at references[0].calls[0]
        value: {"name":"f"}
        fix: Write each reference turn as { text: "..." } or { calls: [{ name: "get_weather", arguments: { city: "Paris" } }] }; arguments is a JSON object (use {} for none).]
    `)
  })
})

describe('parseToolCalls', () => {
  it('reads the call formats models write', () => {
    expect(parseToolCalls('{"name": "f", "parameters": {"a": 1}}')).toEqual([{ name: 'f', arguments: { a: 1 } }])
    expect(parseToolCalls('{"name": "f", "arguments": "{\\"a\\": 1}"}')).toEqual([{ name: 'f', arguments: { a: 1 } }])
    expect(parseToolCalls('{"name": "f"}')).toEqual([{ name: 'f', arguments: {} }])
    expect(parseToolCalls('Sure.\n<tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>\n<tool_call>{"name": "g", "arguments": {}}</tool_call>')).toEqual([
      { name: 'f', arguments: {} },
      { name: 'g', arguments: {} },
    ])
  })

  it('refuses what is not a call', () => {
    for (const text of ['', 'hello', '{"name": "", "arguments": {}}', '{"name": "f", "arguments": [1]}', '[]', '[{"name": "f"}, 3]', '<tool_call>{oops}</tool_call>']) {
      expect(parseToolCalls(text), text).toBeUndefined()
    }
  })

  it('canonicalises values: numbers in strings, key order; lists keep their order', () => {
    expect(canonicalValue({ b: ['2', '02', 1.5], a: '-1e3' })).toEqual({ b: [2, '02', 1.5], a: -1000 })
    expect(canonicalValue(' 3')).toBe(' 3')
  })
})

describe('scoreGenerations', () => {
  const { hypotheses, references } = makeCorpus(42, 40, 'en')

  it('gives each metric in percent, as its function computes it', () => {
    expect(scoreGenerations('bleu', hypotheses, references).metrics).toEqual({ bleu4: corpusBleu(hypotheses, references).score })
    const rouge = corpusRougeL(hypotheses, references, { useStemmer: true })
    expect(scoreGenerations('rouge-l', hypotheses, references, { useStemmer: true }).metrics).toEqual({
      rougeL: 100 * rouge.fmeasure,
      rougeLPrecision: 100 * rouge.precision,
      rougeLRecall: 100 * rouge.recall,
    })
    expect(scoreGenerations('exact-match', ['The cat.', 'dog'], ['cat', ['a dog', 'dogs']]).metrics).toEqual({ exactMatch: 100 })
    expect(scoreGenerations('squad-v1', ['Denver'], [['Denver Broncos']]).metrics).toEqual({ ...squadV1(['Denver'], [['Denver Broncos']]) })
    const tools = scoreGenerations('tool-calls', turns.map((t) => t[0]), turns.map((t) => t[1]))
    expect(tools.metrics.slotF1).toBeCloseTo((100 * 12) / 19, 10)
    expect(tools.table).toContain('SLOT-F1')
    expect(generationMetrics).toEqual(['bleu', 'rouge-l', 'exact-match', 'squad-v1', 'squad-v2', 'tool-calls'])
  })

  it('reports an unknown metric and a length mismatch with the catalog', () => {
    const kind = JSON.parse('"rouge_l"') as 'bleu'
    expect(() => scoreGenerations(kind, [], [])).toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: Unknown generation metric
      ✖ TK602 "rouge_l" is not a generation metric (did you mean "rouge-l"?); the metrics are bleu, rouge-l, exact-match, squad-v1, squad-v2, tool-calls → at kind
        value: "rouge_l"
        fix: Use one of the metric names listed.]
    `)
    expect(() => scoreGenerations('exact-match', ['a'], [])).toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: Predictions and references differ in number
      ✖ TK600 exact-match got 1 prediction and 0 reference entries; prediction i is scored against reference entry i → at references
        value: {"predictions":1,"references":0}
        fix: Pass one reference entry per prediction, in the same order (an entry is a list of strings where the metric takes several references).]
    `)
  })
})
