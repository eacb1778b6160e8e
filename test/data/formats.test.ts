import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { formatRecords, parseOpenai, runFormat, runSource, type Conversation, type Preference } from '@tunekit/data'
import { fixtures, messagesOf, readJson, readJsonl, tempDir } from './helpers.ts'
import type { Format, Source } from '@tunekit/core'

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => (tmp = await tempDir()))
afterAll(() => tmp.done())

let n = 0
// error text without this machine's paths or the JS engine's wording of a JSON syntax error
const stable = (text: string): string => text.replaceAll(fixtures, '<fixtures>').replace(/malformed JSON \([^)]*\)/g, 'malformed JSON (…)')
async function formatted(source: Source, format: Format, onError: 'fail' | 'skip' = 'fail'): Promise<{ conversations: Conversation[]; summary: Awaited<ReturnType<typeof runFormat>> }> {
  const dir = join(tmp.dir, String(n++))
  await runSource(source, join(dir, 'source'), { baseDir: fixtures })
  const summary = await runFormat(format, join(dir, 'source'), join(dir, 'format'), { onError, baseDir: fixtures })
  return { conversations: await readJsonl<Conversation>(join(dir, 'format', 'conversations.jsonl')), summary }
}

describe('formats map records to conversations with normalised roles', () => {
  test('chatml-text', async () => {
    const { conversations } = await formatted({ kind: 'file', path: 'chatml.jsonl' }, 'chatml-text')
    expect(messagesOf(conversations)).toEqual([
      ['user: what is two plus two?', 'assistant: four'],
      ['system: be kind', 'user: hello cat', 'assistant: hello dog', 'user: the mat?', 'assistant: yes, the mat 😀'],
    ])
  })

  test('alpaca with input, system and history', async () => {
    const { conversations } = await formatted({ kind: 'file', path: 'alpaca.json' }, 'alpaca')
    expect(messagesOf(conversations)).toEqual([
      ['user: what is two plus two?', 'assistant: four'],
      ['system: be kind', 'user: hello', 'assistant: hello world', 'user: answer the question\nis the cat on the mat?', 'assistant: yes'],
    ])
  })

  test('sharegpt with system, function_call, observation and tools', async () => {
    const { conversations } = await formatted({ kind: 'file', path: 'sharegpt.jsonl' }, 'sharegpt')
    expect(messagesOf(conversations)).toEqual([
      ['system: be kind', 'user: hello', 'assistant: hello world', 'user: what is two plus two?', 'assistant: four'],
      ['user: what is two plus four?', 'assistant: ', 'tool: 6', 'assistant: the answer is 6'],
    ])
    expect(conversations[1]!.messages[1]!.toolCalls).toEqual([{ name: 'plus', arguments: { a: 2, b: 4 } }])
    expect(conversations[1]!.tools).toEqual([{ name: 'plus' }])
  })

  test('openai messages, with content parts', async () => {
    const { conversations } = await formatted({ kind: 'file', path: 'openai.jsonl' }, 'openai')
    expect(messagesOf(conversations)).toEqual([
      ['system: be kind', 'user: hello', 'assistant: hello world'],
      ['user: what is two plus two?', 'assistant: four'],
    ])
  })

  test('openai messages with tools: conversations.jsonl holds the definitions, the call and the id it answers', async () => {
    const { conversations } = await formatted({ kind: 'file', path: 'openai-tools.jsonl' }, 'openai')
    expect(conversations).toEqual([{
      id: '0',
      tools: [{ name: 'plus', parameters: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } } } }],
      messages: [
        { role: 'user', content: 'what is two plus four?' },
        { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'plus', arguments: { a: 2, b: 4 } }] },
        { role: 'tool', content: '6', toolCallId: 'call_1' },
        { role: 'assistant', content: 'the answer is 6' },
      ],
    }])
  })

  test('a column map over CSV (quoted commas, doubled quotes, newlines)', async () => {
    const { conversations } = await formatted({ kind: 'file', path: 'columns.csv' }, { kind: 'columns', system: 'system_prompt', prompt: 'question', response: 'response' })
    expect(messagesOf(conversations)).toEqual([
      ['system: be kind', 'user: what is two plus two, the answer?', 'assistant: four'],
      ['user: a "quoted" cat\non two lines', 'assistant: yes'],
    ])
  })

  test('LLaMA-Factory dataset_info.json entries: alpaca columns, sharegpt tags, ranking', async () => {
    const alpaca = await formatted({ kind: 'file', path: 'lf-alpaca.json' }, { kind: 'dataset-info', file: 'dataset_info.json', name: 'lf_alpaca' })
    expect(messagesOf(alpaca.conversations)).toEqual([['user: hello', 'assistant: hello world']])
    const sharegpt = await formatted({ kind: 'file', path: 'lf-sharegpt.json' }, { kind: 'dataset-info', file: 'dataset_info.json', name: 'lf_sharegpt' })
    expect(messagesOf(sharegpt.conversations)).toEqual([['system: be kind', 'user: hello', 'assistant: hello world']])
    const dir = join(tmp.dir, 'ranking')
    await runSource({ kind: 'file', path: 'lf-ranking.json' }, join(dir, 'source'), { baseDir: fixtures })
    const summary = await runFormat({ kind: 'dataset-info', file: 'dataset_info.json', name: 'lf_ranking' }, join(dir, 'source'), join(dir, 'format'), { onError: 'fail', baseDir: fixtures })
    expect(summary.preferences).toBe(1)
    expect(await readJsonl<Preference>(join(dir, 'format', 'preferences.jsonl'))).toEqual([
      { id: '0', prompt: [{ role: 'user', content: 'is the dog kind?' }], chosen: { role: 'assistant', content: 'yes' }, rejected: { role: 'assistant', content: 'no' } },
    ])
  })

  test('openai preference records parse into their own type', () => {
    const record = (JSON.parse('{"chosen":[{"role":"user","content":"q"},{"role":"assistant","content":"yes"}],"rejected":[{"role":"user","content":"q"},{"role":"assistant","content":"no"}]}'))
    expect(parseOpenai(record)).toEqual({ kind: 'preference', prompt: [{ role: 'user', content: 'q' }], chosen: { role: 'assistant', content: 'yes' }, rejected: { role: 'assistant', content: 'no' } })
  })
})

describe('bad input names the file, the line and the reason', () => {
  test('a malformed JSONL line fails with BadRecord', async () => {
    const err = await formatted({ kind: 'file', path: 'bad.jsonl' }, 'openai').catch((e: Error) => e)
    expect(stable((err as Error).message)).toMatchInlineSnapshot(`
      "A data record cannot be used
      ✖ TK303 bad.jsonl line 2: malformed JSON (…) → at data.format
        value: "bad.jsonl line 2"
        fix: Fix the record, or set data.onError: 'skip' to skip bad records (each one is reported)."
    `)
  })

  test("onError 'skip' skips and reports every bad record", async () => {
    const { conversations, summary } = await formatted({ kind: 'file', path: 'bad.jsonl' }, 'openai', 'skip')
    expect(messagesOf(conversations)).toEqual([['user: hello', 'assistant: hello world'], ['user: what is two plus two?', 'assistant: four']])
    expect(summary.skipped.map((s) => ({ where: stable(s.where), reason: stable(s.reason) }))).toMatchInlineSnapshot(`
      [
        {
          "reason": "malformed JSON (…)",
          "where": "bad.jsonl line 2",
        },
        {
          "reason": "roles do not alternate: message 2 is user after user",
          "where": "bad.jsonl line 3",
        },
        {
          "reason": "missing field "messages", a list of { role, content } (the record has "text")",
          "where": "bad.jsonl line 5",
        },
      ]
    `)
  })

  test('non-alternating roles and missing fields', async () => {
    const rows = [
      { origin: 0, line: 1, record: { instruction: 'hello' } },
    ]
    const err = await formatRecords(rows, (await import('@tunekit/data')).parseAlpaca, { origins: [{ file: 'mem.jsonl', unit: 'line' }], onError: 'fail', onConversation: () => {} }).catch((e: Error) => e)
    expect((err as Error).message).toMatchInlineSnapshot(`
      "A data record cannot be used
      ✖ TK303 mem.jsonl line 1: missing field "output" (the record has "instruction") → at data.format
        value: "mem.jsonl line 1"
        fix: Fix the record, or set data.onError: 'skip' to skip bad records (each one is reported)."
    `)
  })

  test('an empty result is EmptyDataset', async () => {
    const err = await formatRecords([], (r) => ({ kind: 'conversation', messages: [] , ...r }), { origins: [], onError: 'skip', onConversation: () => {} }).catch((e: Error) => e)
    expect((err as Error).message).toMatchInlineSnapshot(`
      "No usable sample
      ✖ TK304 the format step produced no sample → at data.format
        fix: Check data.source and data.format; \`tunekit plan\` shows the counts at every step."
    `)
  })

  test('a ChatML text with an unclosed turn', async () => {
    const err = await formatRecords([{ origin: 0, line: 3, record: { text: '<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\nhi' } }], (await import('@tunekit/data')).parseChatmlText, { origins: [{ file: 'chat.jsonl', unit: 'line' }], onError: 'fail', onConversation: () => {} }).catch((e: Error) => e)
    expect((err as Error).message).toMatchInlineSnapshot(`
      "A data record cannot be used
      ✖ TK303 chat.jsonl line 3: a turn is not closed by <|im_end|> → at data.format
        value: "chat.jsonl line 3"
        fix: Fix the record, or set data.onError: 'skip' to skip bad records (each one is reported)."
    `)
  })

  test('source.json records the origins and the limit', async () => {
    const dir = join(tmp.dir, 'limit')
    const summary = await runSource({ kind: 'file', path: 'chatml.jsonl' }, dir, { baseDir: fixtures, limit: 1 })
    expect(summary.records).toBe(1)
    expect(await readJson(join(dir, 'source.json'))).toEqual({ origins: [{ file: join(fixtures, 'chatml.jsonl'), unit: 'line' }], records: 1, malformed: 0, limit: 1 })
  })
})
