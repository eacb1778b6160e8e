// A record far longer than maxLength costs work in proportion to what is kept: its messages are
// cut to a character budget before rendering, and the kept tokens and labels are exactly those
// of tokenizing the whole text and cutting after (checked here against that slow path). Samples
// left without a label are skipped (onError 'skip') on both paths.
import { beforeAll, describe, expect, test } from 'vitest'
import {
  chatTemplate, loadTokenizer, longestTokenChars, messageBudget, tokenizeConversations, tokenizeDocuments,
  type BuiltinTemplate, type Conversation, type LoadedTokenizer, type MaskMode, type Message, type Truncation,
} from '@tunekit/data'
import { mistralTokenizer, tinyTokenizer } from './helpers.ts'

let tiny: LoadedTokenizer
let mistral: LoadedTokenizer
beforeAll(async () => {
  tiny = await loadTokenizer(tinyTokenizer, { chatml: true })
  mistral = await loadTokenizer(mistralTokenizer, { chatml: true })
})

/** Seeded text with words, runs of spaces and newlines, digits, accents, CJK and emoji (surrogate pairs). */
function text(seed: number, length: number): string {
  let state = seed >>> 0
  const next = (): number => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32)
  const pieces = ['the', 'cat', 'sat', ' ', '   ', '\n', '\n\n', '42', 'été', '日本語', '😀', '!', 'aaaaaaaa', '<|im_end|>']
  let out = ''
  while (out.length < length) out += pieces[Math.floor(next() * pieces.length)] + (next() < 0.5 ? ' ' : '')
  const cut = out.slice(0, length)
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut // never half an emoji
}

/** Every sample the tokenize step emits, with its ids and labels. */
async function samples(tok: LoadedTokenizer, conversations: Conversation[], o: { template: BuiltinTemplate; maxLength: number; truncation: Truncation; mask: MaskMode }) {
  const template = chatTemplate(o.template, { bosToken: tok.bos?.token ?? '', eosToken: tok.eos.token })
  const out: { ids: number[]; mask: number[] }[] = []
  const report = await tokenizeConversations(conversations, tok, { ...o, template, onError: 'skip' }, (s) => void out.push({ ids: s.ids, mask: [...s.mask] }))
  return { out, report }
}

const conv = (id: string, messages: Message[]): Conversation => ({ id, messages })

describe('truncation truncate: a long message is cut before it is tokenized', () => {
  const cases = (): Conversation[] => [
    conv('0', [{ role: 'user', content: 'Say a lot.' }, { role: 'assistant', content: text(1, 8_000) }]),
    conv('1', [{ role: 'system', content: text(2, 6_000) }, { role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }]),
    conv('2', [{ role: 'user', content: text(3, 7_000) }, { role: 'assistant', content: text(4, 7_000) }, { role: 'user', content: 'and?' }, { role: 'assistant', content: 'done' }]),
    // whitespace at the cut: trimmed by llama-2 when nothing visible follows, kept when something does
    conv('3', [{ role: 'user', content: 'Spaces?' }, { role: 'assistant', content: `ok${' '.repeat(10_000)}end` }]),
    conv('4', [{ role: 'user', content: 'Spaces?' }, { role: 'assistant', content: `ok${' '.repeat(10_000)}` }]),
    conv('5', [{ role: 'user', content: 'short' }, { role: 'assistant', content: 'also short' }]),
    // many messages, none long alone: the budget runs out across them
    conv('6', Array.from({ length: 120 }, (_, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: text(10 + i, 150) }) as const)),
  ]

  test.each([
    ['tiny byte-level BPE', 'chatml', 64, 'assistant'],
    ['tiny byte-level BPE', 'llama-2', 40, 'all'],
    ['Mistral sentencepiece BPE', 'chatml', 64, 'last-assistant'],
    ['Mistral sentencepiece BPE', 'llama-2', 200, 'assistant'],
    ['Mistral sentencepiece BPE', 'alpaca', 96, 'all'],
  ] as const)('%s, %s template, maxLength %i, mask %s: the same ids and labels as cutting after tokenizing the whole text', async (name, template, maxLength, mask) => {
    const tok = name.startsWith('tiny') ? tiny : mistral
    // The slow path: a maxLength so large that nothing is cut before tokenizing, then the first maxLength tokens.
    const whole = await samples(tok, cases(), { template, maxLength: 10_000_000, truncation: 'truncate', mask })
    const fast = await samples(tok, cases(), { template, maxLength, truncation: 'truncate', mask })
    const expected = whole.out.map((s) => ({ ids: s.ids.slice(0, maxLength), mask: s.mask.slice(0, maxLength) })).filter((s) => s.mask.slice(1).includes(1))
    expect(fast.out).toEqual(expected)
    expect(fast.report.truncated).toBe(whole.out.filter((s) => s.ids.length > maxLength).length)
  })

  test('the tokenizer never sees more than the budget of a 4-million-character message', async () => {
    let longestEncoded = 0
    // The real tokenizer, wrapped only to measure what it is asked to encode.
    const measured: LoadedTokenizer = { ...tiny, encode: (t) => ((longestEncoded = Math.max(longestEncoded, t.length)), tiny.encode(t)) }
    const huge = conv('0', [{ role: 'user', content: 'Say x.' }, { role: 'assistant', content: 'x'.repeat(4_000_000) }])
    const { out, report } = await samples(measured, [huge], { template: 'chatml', maxLength: 64, truncation: 'truncate', mask: 'assistant' })
    expect(out[0]!.ids).toHaveLength(64)
    expect(report.truncated).toBe(1)
    // the budget, plus the role header that is encoded with the message ("assistant\n")
    expect(longestEncoded).toBeLessThanOrEqual(messageBudget(64, longestTokenChars(tiny)) + 'assistant\n'.length)
  })
})

describe("truncation 'drop'", () => {
  test('a message longer than the budget drops its sample without tokenizing it; all dropped is AllSamplesDropped', async () => {
    const long = conv('0', [{ role: 'user', content: 'Say x.' }, { role: 'assistant', content: 'x'.repeat(1_000_000) }])
    const medium = conv('1', [{ role: 'user', content: 'Say y.' }, { role: 'assistant', content: 'y '.repeat(100) }])
    const run = samples(tiny, [long, medium], { template: 'chatml', maxLength: 32, truncation: 'drop', mask: 'assistant' })
    await expect(run).rejects.toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: Every sample is longer than maxLength
      ✖ TK319 truncation 'drop' left out all 2 sample(s): each is longer than data.maxLength 32 (the longest: at least 83334 tokens, from text too long to tokenize) → at data.maxLength
        value: 32
        fix: Raise data.maxLength (the longest needs at least 83334), or set data.truncation: 'truncate' (keeps the first maxLength tokens) or 'split'.]
    `)
    const onlyMedium = samples(tiny, [medium], { template: 'chatml', maxLength: 32, truncation: 'drop', mask: 'assistant' })
    await expect(onlyMedium).rejects.toMatchObject({ issues: [{ code: 'TK319', hint: expect.stringMatching(/^Raise data.maxLength \(\d+ keeps the longest\)/) }] })
    const kept = await samples(tiny, [long, medium, conv('2', [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'yo' }])], { template: 'chatml', maxLength: 32, truncation: 'drop', mask: 'assistant' })
    expect([kept.out.length, kept.report.dropped]).toEqual([1, 2])
  })
})

describe('pretrain documents (format text)', () => {
  const docs = (n: number, length: number): Array<{ id: string; text: string }> => Array.from({ length: n }, (_, i) => ({ id: String(i), text: text(i + 7, length) }))
  const run = async (tok: LoadedTokenizer, documents: Array<{ id: string; text: string }>, maxLength: number, truncation: Truncation) => {
    const out: number[][] = []
    const report = await tokenizeDocuments(documents, tok, { maxLength, truncation }, (s) => void out.push([...s.ids]))
    return { out, report }
  }

  test.each(['tiny', 'mistral'] as const)('%s: truncate keeps the ids of encoding everything and cutting after', async (name) => {
    const tok = name === 'tiny' ? tiny : mistral
    const documents = [...docs(6, 5_000), ...docs(6, 40)]
    const whole = await run(tok, documents, 10_000_000, 'truncate')
    const fast = await run(tok, documents, 48, 'truncate')
    expect(fast.out).toEqual(whole.out.map((ids) => ids.slice(0, 48)))
  })

  test('a 4-million-character document: the tokenizer sees at most the budget; drop does not encode it', async () => {
    let longestEncoded = 0
    const measured: LoadedTokenizer = { ...tiny, encode: (t) => ((longestEncoded = Math.max(longestEncoded, t.length)), tiny.encode(t)) }
    const huge = [{ id: '0', text: 'x'.repeat(4_000_000) }, { id: '1', text: 'short' }]
    const kept = await run(measured, huge, 64, 'truncate')
    expect(kept.out[0]).toHaveLength(64)
    expect(longestEncoded).toBeLessThanOrEqual(messageBudget(64, longestTokenChars(tiny)))
    longestEncoded = 0
    const dropped = await run(measured, huge, 64, 'drop')
    expect([dropped.out.length, dropped.report.dropped, dropped.report.droppedLongestExact]).toEqual([1, 1, false])
    expect(longestEncoded).toBe('short'.length)
  })
})
