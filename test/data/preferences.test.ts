import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { Json } from '@tunekit/core'
import {
  datasetInfoFormat, formatRecords, loadTokenizer, parseAlpaca, parseOpenai, parseSharegpt, readPreferenceShards, readShards, runTokenize, sampleOf, truncatePreference,
  type DataRecord, type LoadedTokenizer, type Message, type Parsed, type PreferenceReport,
} from '@tunekit/data'
import { readJson, runDataNodes, tempDir, tinyTokenizer } from './helpers.ts'

let tmp: Awaited<ReturnType<typeof tempDir>>
let tiny: LoadedTokenizer
beforeAll(async () => {
  tmp = await tempDir()
  tiny = await loadTokenizer(tinyTokenizer, { chatml: true })
})
afterAll(() => tmp.done())

/** A parsed record in one line per message: `role: text` (tool calls as `→ name(args)`). */
const lines = (ms: readonly Message[]): string[] => ms.map((m) => `${m.role}: ${m.content}${m.toolCalls ? m.toolCalls.map((c) => ` → ${c.name}(${JSON.stringify(c.arguments)})`).join('') : ''}`)
const shown = (p: Parsed): Json =>
  p.kind === 'preference' ? { prompt: lines(p.prompt), chosen: lines(p.chosen), rejected: lines(p.rejected) }
  : p.kind === 'unpaired' ? { prompt: lines(p.prompt), completion: lines(p.completion), desirable: p.desirable }
  : p.kind

const lf = (entry: Json): ((r: DataRecord) => Parsed) => {
  const f = datasetInfoFormat(entry as never, '/data/dataset_info.json', 'entry')
  return f.formatting === 'alpaca' ? (r) => parseAlpaca(r, f.columns) : (r) => parseSharegpt(r, f.tags)
}

describe('preference records from every format', () => {
  test('LLaMA-Factory ranking and kto_tag (alpaca, sharegpt), TRL explicit and implicit prompts, KTO, openai with tool calls', () => {
    const plus = { type: 'function', function: { name: 'plus', parameters: { type: 'object', properties: { a: { type: 'integer' } } } } }
    expect({
      lfAlpacaRanking: shown(lf({ ranking: true })({ instruction: 'opposite of', input: 'hot', chosen: 'cold', rejected: 'warm' })),
      lfSharegptRanking: shown(lf({ formatting: 'sharegpt', ranking: true })({ conversations: [{ from: 'human', value: 'hi' }], chosen: { from: 'gpt', value: 'hello' }, rejected: { from: 'gpt', value: 'go away' } })),
      lfAlpacaKto: shown(lf({ columns: { kto_tag: 'tag' } })({ instruction: 'up?', output: 'down', tag: true })),
      lfSharegptKto: shown(lf({ formatting: 'sharegpt', columns: { messages: 'messages', kto_tag: 'label' }, tags: { role_tag: 'role', content_tag: 'content', user_tag: 'user', assistant_tag: 'assistant' } })({
        messages: [{ role: 'user', content: 'up?' }, { role: 'assistant', content: 'sideways' }], label: false,
      })),
      trlTextPrompt: shown(parseOpenai({ prompt: 'big?', chosen: 'small', rejected: 'large' })),
      trlMessagesPrompt: shown(parseOpenai({ prompt: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'big?' }], chosen: [{ role: 'assistant', content: 'small' }], rejected: [{ role: 'assistant', content: 'huge' }] })),
      trlImplicit: shown(parseOpenai({
        chosen: [{ role: 'user', content: 'hot?' }, { role: 'assistant', content: 'cold' }, { role: 'user', content: 'up?' }, { role: 'assistant', content: 'down' }],
        rejected: [{ role: 'user', content: 'hot?' }, { role: 'assistant', content: 'cold' }, { role: 'user', content: 'up?' }, { role: 'assistant', content: 'up' }],
      })),
      trlKto: shown(parseOpenai({ prompt: [{ role: 'user', content: 'wet?' }], completion: [{ role: 'assistant', content: 'dry' }], label: true })),
      openaiTools: shown(parseOpenai({
        tools: [plus],
        prompt: [{ role: 'user', content: 'two plus four?' }],
        chosen: [
          { role: 'assistant', content: null, tool_calls: [{ type: 'function', function: { name: 'plus', arguments: '{"a": 2}' } }] },
          { role: 'tool', content: '6' },
          { role: 'assistant', content: 'six' },
        ],
        rejected: [{ role: 'assistant', content: 'seven' }],
      })),
    }).toMatchInlineSnapshot(`
      {
        "lfAlpacaKto": {
          "completion": [
            "assistant: down",
          ],
          "desirable": true,
          "prompt": [
            "user: up?",
          ],
        },
        "lfAlpacaRanking": {
          "chosen": [
            "assistant: cold",
          ],
          "prompt": [
            "user: opposite of
      hot",
          ],
          "rejected": [
            "assistant: warm",
          ],
        },
        "lfSharegptKto": {
          "completion": [
            "assistant: sideways",
          ],
          "desirable": false,
          "prompt": [
            "user: up?",
          ],
        },
        "lfSharegptRanking": {
          "chosen": [
            "assistant: hello",
          ],
          "prompt": [
            "user: hi",
          ],
          "rejected": [
            "assistant: go away",
          ],
        },
        "openaiTools": {
          "chosen": [
            "assistant:  → plus({"a":2})",
            "tool: 6",
            "assistant: six",
          ],
          "prompt": [
            "user: two plus four?",
          ],
          "rejected": [
            "assistant: seven",
          ],
        },
        "trlImplicit": {
          "chosen": [
            "assistant: down",
          ],
          "prompt": [
            "user: hot?",
            "assistant: cold",
            "user: up?",
          ],
          "rejected": [
            "assistant: up",
          ],
        },
        "trlKto": {
          "completion": [
            "assistant: dry",
          ],
          "desirable": true,
          "prompt": [
            "user: wet?",
          ],
        },
        "trlMessagesPrompt": {
          "chosen": [
            "assistant: small",
          ],
          "prompt": [
            "system: be brief",
            "user: big?",
          ],
          "rejected": [
            "assistant: huge",
          ],
        },
        "trlTextPrompt": {
          "chosen": [
            "assistant: small",
          ],
          "prompt": [
            "user: big?",
          ],
          "rejected": [
            "assistant: large",
          ],
        },
      }
    `)
  })

  test('bad preference records: each a catalog error naming the record', async () => {
    // a conversation's stray "label" or "completion" column is metadata, not a KTO record (SFT data parses as before)
    expect(parseOpenai({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }], label: 3, completion: 'x' }).kind).toBe('conversation')
    const records: DataRecord[] = [
      { prompt: 'q', chosen: '', rejected: 'no' },
      { prompt: 'q', chosen: 'yes' },
      { chosen: [{ role: 'user', content: 'a?' }, { role: 'assistant', content: 'x' }], rejected: [{ role: 'user', content: 'b?' }, { role: 'assistant', content: 'y' }] },
      { chosen: [{ role: 'user', content: 'a?' }, { role: 'assistant', content: 'x' }, { role: 'user', content: 'c?' }, { role: 'assistant', content: 'z' }], rejected: [{ role: 'user', content: 'a?' }, { role: 'assistant', content: 'x' }, { role: 'user', content: 'd?' }, { role: 'assistant', content: 'z' }] },
      { prompt: 'q', completion: 'yes', label: 'true' },
      { prompt: 'q', chosen: 'yes', rejected: 'no' },
    ]
    const rows = records.map((record, i) => ({ origin: 0, line: i + 1, record }))
    const origins = [{ file: 'pairs.jsonl', unit: 'line' as const }]
    const err = await formatRecords(rows, parseOpenai, { origins, onError: 'fail', onConversation: () => {} }).catch((e: Error) => e)
    expect((err as Error).message).toMatchInlineSnapshot(`
      "A preference record cannot be used
      ✖ TK280 pairs.jsonl line 1: chosen's answer is empty → at data.format
        value: "pairs.jsonl line 1"
        fix: Give every record a prompt, a non-empty chosen and rejected answer (or a completion and a true/false label for KTO), or set data.onError: 'skip' to skip such records (each one is reported)."
    `)
    const differ = await formatRecords(rows.slice(2, 3), parseOpenai, { origins, onError: 'fail', onConversation: () => {} }).catch((e: Error) => e)
    expect((differ as Error).message).toMatchInlineSnapshot(`
      "Chosen and rejected do not share a prompt
      ✖ TK281 pairs.jsonl line 3: chosen and rejected differ from their first message (chosen: user "a?", rejected: user "b?"); without an explicit "prompt" the prompt is the messages chosen and rejected share from the start, as TRL's extract_prompt finds it → at data.format
        value: "pairs.jsonl line 3"
        fix: Give the record an explicit "prompt" (text or messages), or make chosen and rejected the same conversation up to their final answers; data.onError: 'skip' skips such records."
    `)
    const kept: string[] = []
    const summary = await formatRecords(rows, parseOpenai, { origins, onError: 'skip', onConversation: () => {}, onPreference: (p) => void kept.push(p.id) })
    expect({ kept, skipped: summary.skipped }).toMatchInlineSnapshot(`
      {
        "kept": [
          "5",
        ],
        "skipped": [
          {
            "reason": "chosen's answer is empty",
            "where": "pairs.jsonl line 1",
          },
          {
            "reason": "missing field "rejected"",
            "where": "pairs.jsonl line 2",
          },
          {
            "reason": "chosen and rejected differ from their first message (chosen: user "a?", rejected: user "b?")",
            "where": "pairs.jsonl line 3",
          },
          {
            "reason": "chosen and rejected share 2 message(s), then differ at message 3 before the answer (chosen: user "c?", rejected: user "d?")",
            "where": "pairs.jsonl line 4",
          },
          {
            "reason": "field "label" is a string ("true"), not true or false",
            "where": "pairs.jsonl line 5",
          },
        ],
      }
    `)
  })
})

/** The tokenize chain through the real data nodes: source → format → tokenize (render kind 'preference'). */
async function tokenized(name: string, records: Json[], more: { maxLength?: number; maxPromptLength?: number; onError?: string } = {}) {
  const dir = join(tmp.dir, name)
  const { mkdir } = await import('node:fs/promises')
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'data.jsonl'), records.map((r) => JSON.stringify(r)).join('\n'))
  const onError = more.onError ?? 'fail'
  const params = {
    source: { source: { kind: 'file', path: 'data.jsonl' } },
    format: { format: 'openai', onError },
    tokenize: {
      render: { kind: 'preference', template: 'chatml', maxPromptLength: more.maxPromptLength ?? 512 }, maxLength: more.maxLength ?? 1024, truncation: 'truncate',
      onError, tokens: { chatml: true, add: [], addBos: true }, family: 'llama', trainableTokens: false,
    },
  }
  const { dirs, events } = await runDataNodes(join(dir, 'run'), params, { modelDir: tinyTokenizer, baseDir: dir })
  return { dirs, events, report: await readJson<PreferenceReport>(join(dirs.tokenize!, 'report.json')) }
}

/** Ids as text, labels in [brackets], `|` between tokens. */
const show = (ids: Int32Array, labels?: Uint8Array): string => [...ids].map((id, t) => (labels?.[t] ? `[${tiny.decode([id])}]` : tiny.decode([id]))).join('|').replaceAll('\n', '⏎')

describe('preference shards', () => {
  test('pairs store the prompt once (with the generation prompt), each answer with its labels and eos; KTO examples their label', async () => {
    const { dirs, events } = await tokenized('pairs', [
      { prompt: 'hot', chosen: 'cold', rejected: 'warm' },
      {
        tools: [{ name: 'plus' }], prompt: [{ role: 'user', content: 'a' }],
        chosen: [{ role: 'assistant', content: '', tool_calls: [{ function: { name: 'plus', arguments: '{}' } }] }, { role: 'tool', content: '6' }, { role: 'assistant', content: 'b' }],
        rejected: 'c',
      },
      { prompt: 'up', completion: 'down', label: true },
      { prompt: 'up', completion: 'up', label: false },
    ])
    const shards = await readPreferenceShards(dirs.tokenize!)
    const [hot, tools] = shards.pairs
    expect(shards.pairs.map((p) => p.record)).toEqual(['0', '1'])
    expect({ prompt: show(hot!.promptIds), chosen: show(hot!.chosenIds, hot!.chosenLabels), rejected: show(hot!.rejectedIds, hot!.rejectedLabels) }).toMatchInlineSnapshot(`
      {
        "chosen": "[c]|[o]|[ld]|[<|im_end|>]",
        "prompt": "<s>|<|im_start|>|user|⏎|h|o|t|<|im_end|>|⏎|<|im_start|>|a|ssistant|⏎",
        "rejected": "[w]|[a]|[r]|[m]|[<|im_end|>]",
      }
    `)
    expect(show(tools!.chosenIds, tools!.chosenLabels)).toMatchInlineSnapshot(`"[<]|[t]|[o]|[o]|[l]|[_]|[c]|[a]|[ll]|[>]|[⏎]|[{]|["]|[n]|[a]|[m]|[e]|["]|[:]|[ ]|["]|[plus]|["]|[,]|[ ]|["]|[a]|[r]|[g]|[u]|[m]|[e]|[n]|[t]|[s]|["]|[:]|[ ]|[{]|[}]|[}]|[⏎]|[<]|[/]|[t]|[o]|[o]|[l]|[_]|[c]|[a]|[ll]|[>]|[<|im_end|>]|⏎|<|im_start|>|user|⏎|<|t|o|o|l|_|r|es|p|on|s|e|>|⏎|6|⏎|<|/|t|o|o|l|_|r|es|p|on|s|e|>|<|im_end|>|⏎|<|im_start|>|a|ssistant|⏎|[b]|[<|im_end|>]"`)
    expect(shards.unpaired.map((u) => ({ record: u.record, desirable: u.desirable, completion: show(u.completionIds, u.labels) }))).toMatchInlineSnapshot(`
      [
        {
          "completion": "[do]|[w]|[n]|[<|im_end|>]",
          "desirable": true,
          "record": "2",
        },
        {
          "completion": "[u]|[p]|[<|im_end|>]",
          "desirable": false,
          "record": "3",
        },
      ]
    `)
    expect(shards.eosId).toBe(tiny.eos.id)
    expect(events.filter((e) => e.type === 'node-progress' && e.node === 'format')).toMatchObject([{ done: 4, unit: 'preference records' }])
    // the same ids the SFT shards hold for the conversation prompt + chosen (they add the newline after the turn end)
    const sft = await runTokenize([{ id: '0', messages: [{ role: 'user', content: 'hot' }, { role: 'assistant', content: 'cold' }] }], tinyTokenizer, join(tmp.dir, 'sft'), {
      template: 'chatml', maxLength: 64, truncation: 'truncate', mask: 'assistant', onError: 'fail', tokens: { chatml: true, add: [], addBos: true },
    })
    const sftIds = [...sampleOf(await readShards(join(tmp.dir, 'sft')), 0).ids]
    expect(sft.report.samples).toBe(1)
    expect([...hot!.promptIds, ...hot!.chosenIds]).toEqual(sftIds.slice(0, -1))
    const checks = events.find((e) => e.type === 'log' && e.message.startsWith('data checks'))
    expect(checks && 'message' in checks ? checks.message : '').toMatchInlineSnapshot(`
      "data checks
      ✔ template renders  4/4 records with chatml
      ✔ text round-trips  encode → decode gives the rendered text
      ✔ eos supervised    <|im_end|> (321) ends 6 answers
      ✔ chosen differs    2 pairs
      ✔ length            maxLength 1024, maxPromptLength 512: 0 truncated (0 prompts, 0 answers cut), 0 with an answer cut away; longest 460 before, 460 after
      · samples           4 records (2 pairs, 1 desirable and 1 undesirable examples), 515 tokens, 74 trained"
    `)
  })

  test("truncation as TRL's: the prompt keeps its end, answers are cut to maxLength − maxPromptLength", () => {
    const answer = (n: number) => ({ ids: Array.from({ length: n }, (_, i) => 100 + i), labels: new Uint8Array(n).fill(1) })
    const prompt = Array.from({ length: 10 }, (_, i) => i)
    const fits = truncatePreference(prompt, [answer(6), answer(4)], 16, 8)
    expect([fits.prompt.length, fits.answers.map((a) => a.ids.length), fits.promptCut, fits.answersCut]).toEqual([10, [6, 4], false, false])
    const promptOnly = truncatePreference(prompt, [answer(7), answer(4)], 16, 8)
    expect([promptOnly.prompt, promptOnly.answers.map((a) => a.ids.length), promptOnly.promptCut, promptOnly.answersCut]).toEqual([[2, 3, 4, 5, 6, 7, 8, 9], [7, 4], true, false])
    const both = truncatePreference(prompt, [answer(12), answer(4)], 16, 8)
    expect([both.prompt.length, both.answers.map((a) => a.ids.length), both.answers[0]!.ids.at(-1), both.promptCut, both.answersCut]).toEqual([8, [8, 4], 107, true, true])
  })

  test('lengths after truncation are reported; an answer truncated away and chosen equal to rejected are named', async () => {
    const long = 'a b c d e f g h i j k l m n o p q r s t u v w x y z'
    const ok = await tokenized('cut', [{ prompt: long, chosen: long, rejected: 'z' }, { prompt: 'q', chosen: 'same', rejected: 'same' }], { maxLength: 24, maxPromptLength: 12 })
    const { promptsCut, answersCut, truncated, longestBefore, longest, longestPrompt, identical } = ok.report
    expect({ truncated, promptsCut, answersCut, longestBefore, longest, longestPrompt, identical }).toMatchInlineSnapshot(`
      {
        "answersCut": 1,
        "identical": 1,
        "longest": 24,
        "longestBefore": 109,
        "longestPrompt": 12,
        "promptsCut": 1,
        "truncated": 1,
      }
    `)
    expect(ok.report.issues.map((i) => `${i.severity} ${i.code} ${i.message}`)).toMatchInlineSnapshot(`
      [
        "warning TK282 1 pair(s) have chosen equal to rejected after tokenization (first: pair 1); their preference loss has no signal",
      ]
    `)
    const pairs = (await readPreferenceShards(ok.dirs.tokenize!)).pairs
    expect(pairs.map((p) => [p.promptIds.length, p.chosenIds.length, p.rejectedIds.length])).toMatchInlineSnapshot(`
      [
        [
          12,
          12,
          2,
        ],
        [
          11,
          5,
          5,
        ],
      ]
    `)

    // a prompt that fills maxPromptLength = maxLength leaves answers no room
    const err = await tokenized('away', [{ prompt: long, chosen: 'yes', rejected: 'no' }], { maxLength: 16, maxPromptLength: 16 }).catch((e: Error) => e)
    expect((err as Error).message).toMatchInlineSnapshot(`
      "Truncation leaves an answer with no trained token
      ✖ TK283 1 record(s) keep no label of their chosen, rejected or completion answer after truncation to data.maxLength 16 with data.maxPromptLength 16 (first: pair 0) → at data.maxPromptLength
        value: 16
        fix: Raise data.maxLength, or lower data.maxPromptLength so that answers keep tokens (answers are cut to maxLength − maxPromptLength when a record is too long); data.onError: 'skip' leaves such records out."
    `)
  })
})
