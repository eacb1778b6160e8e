// Tool calling in data: every format's tool definitions, calls and results parse into the
// conversation model (bad ones are catalog errors naming the record); the built-in templates render
// them as the models' own Hugging Face templates lay them out (transformers renders the same Jinja
// to the same text); masks train the assistant's text and calls, never the tool list or results.
import { execFileSync } from 'node:child_process'
import { beforeAll, describe, expect, test } from 'vitest'
import {
  builtinTemplates, chatTemplate, checkRows, formatRecords, parseReply, hfMessages, hfTools, loadTokenizer, parseOpenai, parseSharegpt, renderChat, renderSpans, tokenizeConversations,
  datasetInfoFormat, type Conversation, type DataRecord, type ChatTemplate, type LoadedTokenizer, type Message, type Parsed, type ToolDefinition,
} from '@tunekit/data'
import { mistralTokenizer } from './helpers.ts'
import { workerPython } from '../python.ts'

const searchHotels: ToolDefinition = {
  name: 'search_hotels',
  description: 'Find hotels',
  parameters: { type: 'object', properties: { city: { type: 'string' }, stars: { type: 'integer' } }, required: ['city'] },
}
const weather: ToolDefinition = { name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }

/** A hotel dialogue with one call, its result and the answer: the shape every format below gives. */
const dialogue: Message[] = [
  { role: 'system', content: 'You book hotels.' },
  { role: 'user', content: '北京的五星酒店?' },
  { role: 'assistant', content: '', toolCalls: [{ name: 'search_hotels', arguments: { city: '北京', stars: 5 } }] },
  { role: 'tool', content: '[{"name": "王府饭店"}]' },
  { role: 'assistant', content: '王府饭店。' },
]

const conversationOf = (parsed: Parsed): { messages: Message[]; tools?: ToolDefinition[] } => {
  if (parsed.kind !== 'conversation') throw new Error(`expected a conversation, got ${parsed.kind}`)
  return parsed.tools ? { messages: parsed.messages, tools: parsed.tools } : { messages: parsed.messages }
}

describe('every format with tools parses into the same conversation', () => {
  test("LLaMA-Factory sharegpt: function_call / observation turns and the tools column (JSON text)", () => {
    const record = {
      system: 'You book hotels.',
      tools: JSON.stringify([searchHotels]),
      conversations: [
        { from: 'human', value: '北京的五星酒店?' },
        { from: 'function_call', value: '{"name": "search_hotels", "arguments": {"city": "北京", "stars": 5}}' },
        { from: 'observation', value: '[{"name": "王府饭店"}]' },
        { from: 'gpt', value: '王府饭店。' },
      ],
    }
    expect(conversationOf(parseSharegpt(record))).toEqual({ messages: dialogue, tools: [searchHotels] })
  })

  test("a dataset_info.json entry's own tags and columns (role/content, function_tag, observation_tag, tools)", () => {
    const entry = { formatting: 'sharegpt' as const, columns: { messages: 'msgs', tools: 'funcs', system: 'sys' }, tags: { role_tag: 'role', content_tag: 'content', user_tag: 'user', assistant_tag: 'assistant', function_tag: 'tool_call', observation_tag: 'tool_result' } }
    const info = datasetInfoFormat(entry, '/data/dataset_info.json', 'hotels')
    if (info.formatting !== 'sharegpt') throw new Error('expected sharegpt')
    const record = {
      sys: 'You book hotels.',
      funcs: [{ type: 'function', function: searchHotels }],
      msgs: [
        { role: 'user', content: '北京的五星酒店?' },
        { role: 'tool_call', content: '[{"name": "search_hotels", "arguments": {"city": "北京", "stars": 5}}]' },
        { role: 'tool_result', content: '[{"name": "王府饭店"}]' },
        { role: 'assistant', content: '王府饭店。' },
      ],
    }
    expect(conversationOf(parseSharegpt(record, info.tags))).toEqual({ messages: dialogue, tools: [searchHotels] })
  })

  test('openai messages: tools, tool_calls with arguments as JSON text, role tool with tool_call_id', () => {
    const record = {
      tools: [{ type: 'function', function: searchHotels }],
      messages: [
        { role: 'system', content: 'You book hotels.' },
        { role: 'user', content: '北京的五星酒店?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'search_hotels', arguments: '{"city": "北京", "stars": 5}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '[{"name": "王府饭店"}]' },
        { role: 'assistant', content: '王府饭店。' },
      ],
    }
    const { messages, tools } = conversationOf(parseOpenai(record))
    expect(tools).toEqual([searchHotels])
    expect(messages[2]).toEqual({ role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'search_hotels', arguments: { city: '北京', stars: 5 } }] })
    expect(messages[3]).toEqual({ role: 'tool', content: '[{"name": "王府饭店"}]', toolCallId: 'call_1' })
  })

  test('ChatGLM / GLM-4 style: tools on the system message, metadata names the function, observation role', () => {
    const record = {
      messages: [
        { role: 'system', content: 'You book hotels.', tools: [{ type: 'function', function: searchHotels }] },
        { role: 'user', content: '北京的五星酒店?' },
        { role: 'assistant', metadata: 'search_hotels', content: '{"city": "北京", "stars": 5}' },
        { role: 'observation', content: '[{"name": "王府饭店"}]' },
        { role: 'assistant', content: '王府饭店。' },
      ],
    }
    expect(conversationOf(parseOpenai(record))).toEqual({ messages: dialogue, tools: [searchHotels] })
  })
})

describe('bad tool data is a catalog error naming the record', () => {
  const origins = [{ file: 'hotels.jsonl', unit: 'line' as const }]
  const failure = async (record: DataRecord, parse: (r: DataRecord) => Parsed = parseOpenai): Promise<string> => {
    const err = await formatRecords([{ origin: 0, line: 4, record }], parse, { origins, onError: 'fail', onConversation: () => {} }).catch((e: Error) => e)
    return (err as Error).message
  }
  const openai = (messages: unknown[], tools: unknown = [{ type: 'function', function: searchHotels }]): DataRecord => ({ tools, messages })
  const ask = { role: 'user', content: 'hotels?' }

  test('arguments that are not JSON', async () => {
    const call = { role: 'assistant', content: null, tool_calls: [{ type: 'function', function: { name: 'search_hotels', arguments: '{city: 北京}' } }] }
    expect(await failure(openai([ask, call]))).toMatchInlineSnapshot(`
      "A tool call of a record cannot be used
      ✖ TK261 hotels.jsonl line 4: message 2 tool call 1 (search_hotels): the arguments are not JSON: "{city: 北京}" → at data.format
        value: "hotels.jsonl line 4"
        fix: Write each call as {"name": …, "arguments": {…}} with the arguments a JSON object (openai: function.arguments is the JSON text of one); or set data.onError: 'skip'."
    `)
  })

  test('a sharegpt function_call turn that is not JSON', async () => {
    const record = { tools: '[{"name": "search_hotels"}]', conversations: [{ from: 'human', value: 'hotels?' }, { from: 'function_call', value: 'search_hotels(city="北京")' }] }
    expect(await failure(record, (r) => parseSharegpt(r))).toMatchInlineSnapshot(`
      "A tool call of a record cannot be used
      ✖ TK261 hotels.jsonl line 4: turn 2 (function_call) is not a JSON tool call: "search_hotels(city=\\"北京\\")" → at data.format
        value: "hotels.jsonl line 4"
        fix: Write each call as {"name": …, "arguments": {…}} with the arguments a JSON object (openai: function.arguments is the JSON text of one); or set data.onError: 'skip'."
    `)
  })

  test('a tool result with no call before it', async () => {
    expect(await failure(openai([ask, { role: 'assistant', content: 'let me look' }, { role: 'tool', content: '[]' }, { role: 'assistant', content: 'none' }]))).toMatchInlineSnapshot(`
      "A tool result answers no call
      ✖ TK262 hotels.jsonl line 4: message 3 is a tool result, but message 2 calls no tool → at data.format
        value: "hotels.jsonl line 4"
        fix: Put the assistant's tool call (sharegpt function_call, openai tool_calls) right before its result, or set data.onError: 'skip'."
    `)
  })

  test('a call to a function not in tools', async () => {
    const call = { role: 'assistant', content: '', tool_calls: [{ type: 'function', function: { name: 'book_hotel', arguments: '{}' } }] }
    expect(await failure(openai([ask, call]))).toMatchInlineSnapshot(`
      "A tool call names a function the record does not define
      ✖ TK263 hotels.jsonl line 4: message 2 calls "book_hotel", which is not among the tools ("search_hotels") → at data.format
        value: "hotels.jsonl line 4"
        fix: Add the function to the record's tools (the model is trained to call only what it is shown), fix the name, or set data.onError: 'skip'."
    `)
  })

  test("tools that are not a list of functions; with onError 'skip' each bad record is listed", async () => {
    const records = [
      { origin: 0, line: 1, record: openai([ask, { role: 'assistant', content: 'hi' }], '{"name": "search_hotels"') },
      { origin: 0, line: 2, record: openai([ask, { role: 'assistant', content: 'hi' }], [{ description: 'no name' }]) },
      { origin: 0, line: 3, record: openai([ask, { role: 'assistant', content: 'hi' }]) },
    ]
    const kept: Conversation[] = []
    const summary = await formatRecords(records, parseOpenai, { origins, onError: 'skip', onConversation: (c) => void kept.push(c) })
    expect(kept.map((c) => c.tools)).toEqual([[searchHotels]])
    expect(summary.skipped).toMatchInlineSnapshot(`
      [
        {
          "reason": "field "tools" is not JSON: "{\\"name\\": \\"search_hotels\\""",
          "where": "hotels.jsonl line 1",
        },
        {
          "reason": "field "tools" entry 1 is an object with "description", not a function with a name",
          "where": "hotels.jsonl line 2",
        },
      ]
    `)
  })
})

/** The conversations the renderers are compared on: calls with and without text, parallel calls and results, no system, no tools. */
const cases: { messages: Message[]; tools?: ToolDefinition[] }[] = [
  { messages: dialogue, tools: [searchHotels, weather] },
  { messages: dialogue.slice(1), tools: [searchHotels] },
  {
    messages: [
      { role: 'user', content: 'weather and hotels in Paris' },
      { role: 'assistant', content: 'Looking both up.', toolCalls: [{ name: 'weather', arguments: { city: 'Paris' } }, { name: 'search_hotels', arguments: { city: 'Paris', stars: 4 } }] },
      { role: 'tool', content: 'sunny' },
      { role: 'tool', content: '[]' },
      { role: 'assistant', content: 'Sunny; no hotels.' },
    ],
    tools: [searchHotels, weather],
  },
  { messages: dialogue },
]

/** Parallel calls without text, with ids that the results answer (Mistral's [TOOL_CALLS] list). */
const parallel: { messages: Message[]; tools?: ToolDefinition[] } = {
  messages: [
    { role: 'user', content: 'weather and hotels in Paris' },
    { role: 'assistant', content: '', toolCalls: [{ name: 'weather', arguments: { city: 'Paris' }, id: 'a1b2c3d4e' }, { name: 'search_hotels', arguments: { city: 'Paris' }, id: 'f5g6h7i8j' }] },
    { role: 'tool', content: '"sunny"', toolCallId: 'a1b2c3d4e' },
    { role: 'tool', content: '[]', toolCallId: 'f5g6h7i8j' },
    { role: 'assistant', content: 'Sunny; no hotels.' },
    { role: 'user', content: 'thanks' },
    { role: 'assistant', content: 'You are welcome.' },
  ],
  tools: [searchHotels, weather],
}

/** The cases each template can write: Llama 3 takes one call per turn and no text beside calls, Mistral no text beside calls. */
const casesOf = (name: 'chatml' | 'llama-3' | 'mistral-instruct') =>
  name === 'chatml' ? [...cases, parallel] : name === 'mistral-instruct' ? [cases[0]!, cases[1]!, cases[3]!, parallel] : [cases[0]!, cases[1]!, cases[3]!]

/** A conversation's ids, its supervised runs decoded, and the decoded text of every unsupervised id. */
async function tokenizedWith(tok: LoadedTokenizer, template: ChatTemplate, messages: Message[], tools: ToolDefinition[] | undefined): Promise<{ ids: number[]; trained: string[]; untrained: string }> {
  const out: { ids: number[]; trained: string[]; untrained: string }[] = []
  await tokenizeConversations([{ id: '0', messages, ...(tools ? { tools } : {}) }], tok, { template, maxLength: 1024, truncation: 'drop', mask: 'assistant', onError: 'fail' }, ({ ids, mask }) => {
    // a run's text is the decoded sample up to its end less the decoded sample up to its start
    // (decoding a run alone misplaces SentencePiece's word-start spaces after a control token)
    const runs: [number, number][] = []
    mask.forEach((m, t) => (m ? (t === 0 || !mask[t - 1] ? runs.push([t, t + 1]) : (runs.at(-1)![1] = t + 1)) : undefined))
    const upTo = (n: number): string => tok.decode(ids.slice(0, n))
    out.push({ ids, trained: runs.map(([a, b]) => upTo(b).slice(upTo(a).length)), untrained: tok.decode(ids.filter((_, t) => !mask[t])) })
  })
  return out[0]!
}

describe('ChatML renders tools the Hermes / Qwen2.5 way', () => {
  const chatml = chatTemplate('chatml', { bosToken: '<s>', eosToken: '<|im_end|>' })

  test('the tool list in the system turn, calls in <tool_call>, results in a user turn of <tool_response>', () => {
    expect(renderChat(chatml, dialogue, false, [searchHotels])).toMatchInlineSnapshot(`
      "<|im_start|>system
      You book hotels.

      # Tools

      You can call functions to help answer the user.

      Their signatures are inside <tools></tools> XML tags, one JSON object per line:
      <tools>
      {"type": "function", "function": {"name": "search_hotels", "description": "Find hotels", "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "stars": {"type": "integer"}}, "required": ["city"]}}}
      </tools>

      To call a function, write a JSON object with its name and arguments inside <tool_call></tool_call> XML tags:
      <tool_call>
      {"name": <function-name>, "arguments": <args-json-object>}
      </tool_call><|im_end|>
      <|im_start|>user
      北京的五星酒店?<|im_end|>
      <|im_start|>assistant
      <tool_call>
      {"name": "search_hotels", "arguments": {"city": "北京", "stars": 5}}
      </tool_call><|im_end|>
      <|im_start|>user
      <tool_response>
      [{"name": "王府饭店"}]
      </tool_response><|im_end|>
      <|im_start|>assistant
      王府饭店。<|im_end|>
      "
    `)
  })

  test('the fast path gives the Jinja template’s text and spans', () => {
    const viaJinja = chatTemplate({ jinja: builtinTemplates.chatml + '{# interpreted #}' }, { bosToken: '<s>', eosToken: '<|im_end|>' })
    for (const { messages, tools } of casesOf('chatml')) expect(renderSpans(chatml, messages, '<|im_end|>', tools)).toEqual(renderSpans(viaJinja, messages, '<|im_end|>', tools))
  })

  describe('on the real Mistral tokenizer', () => {
    let tok: LoadedTokenizer
    beforeAll(async () => (tok = await loadTokenizer(mistralTokenizer, { chatml: true })))

    const tokenized = (messages: Message[], tools: ToolDefinition[] | undefined) => tokenizedWith(tok, chatml, messages, tools)

    test('the tool definitions are in the token ids (they used to be dropped) and never trained', async () => {
      const { ids, untrained } = await tokenized(dialogue, [searchHotels])
      const line = '{"type": "function", "function": {"name": "search_hotels", "description": "Find hotels", "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "stars": {"type": "integer"}}, "required": ["city"]}}}'
      expect(tok.decode(ids)).toContain(`<tools>\n${line}\n</tools>`)
      expect(untrained).toContain(line)
      // the definitions' tokens are there: more ids than the same dialogue without tools by at least the line's
      expect(ids.length - (await tokenized(dialogue, undefined)).ids.length).toBeGreaterThan(tok.encode(line).length)
      expect(untrained).toContain('<tool_response>\n[{"name": "王府饭店"}]\n</tool_response>')
    })

    test('labels are exactly the assistant calls and answers with their <|im_end|>', async () => {
      expect((await tokenized(dialogue, [searchHotels])).trained).toEqual([
        '<tool_call>\n{"name": "search_hotels", "arguments": {"city": "北京", "stars": 5}}\n</tool_call><|im_end|>',
        '王府饭店。<|im_end|>',
      ])
      expect((await tokenized(cases[2]!.messages, cases[2]!.tools)).trained).toEqual([
        'Looking both up.\n<tool_call>\n{"name": "weather", "arguments": {"city": "Paris"}}\n</tool_call>\n<tool_call>\n{"name": "search_hotels", "arguments": {"city": "Paris", "stars": 4}}\n</tool_call><|im_end|>',
        'Sunny; no hotels.<|im_end|>',
      ])
    })
  })
})

describe("transformers renders the built-in templates' Jinja to the same text", () => {
  test('every built-in that renders tools, on every case, with and without the generation prompt', () => {
    const names = ['chatml', 'llama-3', 'mistral-instruct'] as const
    const jobs = names.flatMap((name) => casesOf(name).flatMap(({ messages, tools }) => [false, true].map((gen) => ({ name, messages, tools, gen }))))
    const ours = jobs.map(({ name, messages, tools, gen }) => {
      const template = chatTemplate(name, { bosToken: '<s>', eosToken: '</s>' })
      return renderChat(template, gen ? messages.slice(0, -1) : messages, gen, tools)
    })
    const script = `
import json, sys
from transformers.utils.chat_template_utils import render_jinja_template
out = []
for job in json.load(sys.stdin):
    text, _ = render_jinja_template([job['messages']], tools=job['tools'], chat_template=job['jinja'], add_generation_prompt=job['gen'], bos_token='<s>', eos_token='</s>')
    out.append(text[0])
print(json.dumps(out))`
    const input = jobs.map(({ name, messages, tools, gen }) => ({ jinja: builtinTemplates[name], messages: hfMessages(gen ? messages.slice(0, -1) : messages), tools: tools ? hfTools(tools) : null, gen }))
    const theirs = JSON.parse(execFileSync(workerPython(), ['-c', script], { input: JSON.stringify(input), maxBuffer: 1 << 24 }).toString()) as string[]
    expect(theirs).toEqual(ours)
  })
})

describe('Llama 3.1 and Mistral v3 tool layouts', () => {
  const llama = chatTemplate('llama-3', { bosToken: '<s>', eosToken: '<|eot_id|>' })
  const mistral = chatTemplate('mistral-instruct', { bosToken: '<s>', eosToken: '</s>' })
  // the Mistral tokenizer with Llama 3's markers, and with Mistral v3's tool markers (its v3 tokenizer has them as control tokens)
  let llamaTok: LoadedTokenizer
  let mistralTok: LoadedTokenizer
  beforeAll(async () => {
    llamaTok = await loadTokenizer(mistralTokenizer, { add: ['<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'] }, { eos: '<|eot_id|>' })
    mistralTok = await loadTokenizer(mistralTokenizer, { add: ['[AVAILABLE_TOOLS]', '[/AVAILABLE_TOOLS]', '[TOOL_CALLS]', '[TOOL_RESULTS]', '[/TOOL_RESULTS]'] })
  })

  test('llama-3: definitions open the first user turn, a call is {"name", "parameters"}, results are ipython turns', () => {
    expect(renderChat(llama, dialogue, false, [weather])).toMatchInlineSnapshot(`
      "<s><|start_header_id|>system<|end_header_id|>

      You book hotels.<|eot_id|><|start_header_id|>user<|end_header_id|>

      Answer with a JSON function call when one of the functions below helps with the request. Write it as {"name": function name, "parameters": object of argument names and values}, with values written out.

      {
          "type": "function",
          "function": {
              "name": "weather",
              "parameters": {
                  "type": "object",
                  "properties": {
                      "city": {
                          "type": "string"
                      }
                  }
              }
          }
      }

      北京的五星酒店?<|eot_id|><|start_header_id|>assistant<|end_header_id|>

      {"name": "search_hotels", "parameters": {"city": "北京", "stars": 5}}<|eot_id|><|start_header_id|>ipython<|end_header_id|>

      [{"name": "王府饭店"}]<|eot_id|><|start_header_id|>assistant<|end_header_id|>

      王府饭店。<|eot_id|>"
    `)
  })

  test('mistral-instruct: [AVAILABLE_TOOLS] before the first [INST], [TOOL_CALLS] with ids, [TOOL_RESULTS] with call_id', () => {
    expect(renderChat(mistral, parallel.messages.slice(0, 5), false, parallel.tools)).toMatchInlineSnapshot(`"<s>[AVAILABLE_TOOLS] [{"type": "function", "function": {"name": "search_hotels", "description": "Find hotels", "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "stars": {"type": "integer"}}, "required": ["city"]}}}, {"type": "function", "function": {"name": "weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}][/AVAILABLE_TOOLS][INST] weather and hotels in Paris [/INST][TOOL_CALLS] [{"name": "weather", "arguments": {"city": "Paris"}, "id": "a1b2c3d4e"}, {"name": "search_hotels", "arguments": {"city": "Paris"}, "id": "f5g6h7i8j"}]</s>[TOOL_RESULTS] {"content": "sunny", "call_id": "a1b2c3d4e"}[/TOOL_RESULTS][TOOL_RESULTS] {"content": [], "call_id": "f5g6h7i8j"}[/TOOL_RESULTS]Sunny; no hotels.</s>"`)
  })

  test('labels are the calls and answers with their end token; tools and results are never trained (Mistral tokenizer)', async () => {
    const l = await tokenizedWith(llamaTok, llama, dialogue, [searchHotels])
    expect(l.trained).toEqual(['{"name": "search_hotels", "parameters": {"city": "北京", "stars": 5}}<|eot_id|>', '王府饭店。<|eot_id|>'])
    expect(l.untrained).toContain('"name": "search_hotels",\n        "description": "Find hotels"')
    // without [TOOL_CALLS] as one token, "[/INST][TOOL_CALLS]" would merge "][" across the turn edge
    const m = await tokenizedWith(mistralTok, mistral, parallel.messages, parallel.tools)
    // this SentencePiece tokenizer (as Python's tokenizers does) puts a word-start "▁" on the text after
    // each added token, so the text after [TOOL_CALLS] and [/TOOL_RESULTS] decodes with one more space
    expect(m.trained).toEqual([
      '[TOOL_CALLS]  [{"name": "weather", "arguments": {"city": "Paris"}, "id": "a1b2c3d4e"}, {"name": "search_hotels", "arguments": {"city": "Paris"}, "id": "f5g6h7i8j"}]</s>',
      ' Sunny; no hotels.</s>',
      'You are welcome.</s>',
    ])
    expect(m.untrained).toContain('[TOOL_RESULTS]  {"content": "sunny", "call_id": "a1b2c3d4e"}[/TOOL_RESULTS]')
    expect(m.untrained).toContain('[AVAILABLE_TOOLS]  [{"type": "function", "function": {"name": "search_hotels"')
  })

  test('what a layout cannot write is a TemplateRender error naming the conversation', async () => {
    const err = await tokenizeConversations([{ id: '3', messages: cases[2]!.messages, tools: cases[2]!.tools! }], llamaTok, { template: llama, maxLength: 1024, truncation: 'drop', mask: 'assistant', onError: 'fail' }, () => {}).catch((e: Error) => e)
    expect((err as Error).message).toMatchInlineSnapshot(`
      "The chat template cannot render a conversation
      ✖ TK305 conversation 3: llama-3 writes one tool call per assistant turn, without text → at data.template
        value: "llama-3"
        fix: Pick a template that supports these roles (data.template), or fix the conversation."
    `)
  })
})

test("a user's Jinja template gets tools and tool_calls as transformers' apply_chat_template passes them", () => {
  const jinja =
    "{{ tools | map(attribute='function') | map(attribute='name') | join(',') }}|" +
    "{% for m in messages %}{% if m.tool_calls %}{{ m.tool_calls[0].type }} {{ m.tool_calls[0].id }} {{ m.tool_calls[0].function.name }} {{ m.tool_calls[0].function.arguments | tojson }}" +
    "{% elif m.role == 'tool' %} <- {{ m.tool_call_id }}: {{ m.content }}{% endif %}{% endfor %}"
  const template = chatTemplate({ jinja }, { bosToken: '<s>', eosToken: '</s>' })
  expect(renderChat(template, parallel.messages.slice(0, 3), false, parallel.tools)).toBe('search_hotels,weather|function a1b2c3d4e weather {"city": "Paris"} <- a1b2c3d4e: "sunny"')
})

describe('the tokenize checks cover tools', () => {
  let tok: LoadedTokenizer
  beforeAll(async () => (tok = await loadTokenizer(mistralTokenizer, { chatml: true, add: ['<start_of_turn>', '<end_of_turn>'] })))
  const run = (template: ChatTemplate, conversations: Conversation[], onError: 'fail' | 'skip' = 'fail') =>
    tokenizeConversations(conversations, tok, { template, maxLength: 1024, truncation: 'drop', mask: 'assistant', onError }, () => {})

  test('ChatML: every definition is in the text and every call parses back; the checks table says so', async () => {
    const report = await run(chatTemplate('chatml', { bosToken: '<s>', eosToken: '<|im_end|>' }), [
      { id: '0', messages: dialogue, tools: [searchHotels] },
      { id: '1', messages: cases[2]!.messages, tools: cases[2]!.tools! },
      { id: '2', messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] },
    ])
    expect(report.tools).toEqual({ conversations: 2, definitions: 3, calls: 3 })
    expect(checkRows(report).find((row) => row.check === 'tools rendered')).toEqual({
      check: 'tools rendered', status: 'ok', detail: '3 definitions and 3 calls of 2 conversations are in the text; every call parses back as JSON',
    })
  })

  test('a template that drops the definitions (gemma) fails naming the conversation', async () => {
    const gemma = chatTemplate('gemma', { bosToken: '<s>', eosToken: '<end_of_turn>' })
    const err = await run(gemma, [{ id: '5', messages: dialogue, tools: [searchHotels] }]).catch((e: Error) => e)
    expect((err as Error).message).toMatchInlineSnapshot(`
      "The chat template drops tool definitions
      ✖ TK264 conversation 5: the template leaves out tool "search_hotels": it is not in the rendered text outside the assistant turns → at data.template
        value: "gemma"
        fix: Pick a template that renders tools (data.template: 'chatml', 'llama-3', 'mistral-instruct', or a model's own that reads \`tools\`), or drop the record's tools."
    `)
  })

  test("a template that drops or garbles calls fails; with onError 'skip' the conversation is listed", async () => {
    const gemma = chatTemplate('gemma', { bosToken: '<s>', eosToken: '<end_of_turn>' })
    const err = await run(gemma, [{ id: '6', messages: dialogue }]).catch((e: Error) => e)
    expect((err as Error).message).toMatchInlineSnapshot(`
      "The chat template drops or garbles a tool call
      ✖ TK265 conversation 6: message 3's call to "search_hotels" does not parse back from the rendered turn as JSON with its arguments {"city":"北京","stars":5} → at data.template
        value: "gemma"
        fix: Pick a template that renders message.tool_calls (data.template: 'chatml', 'llama-3', 'mistral-instruct', or a model's own that reads them), or set data.onError: 'skip'."
    `)
    // a call written as name(city): the name is there, the arguments are not JSON
    const garbled = chatTemplate({ jinja: "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content }}{% if m.tool_calls %}{% for c in m.tool_calls %}{{ c.function.name }}({{ c.function.arguments.city }}){% endfor %}{% endif %}{{ '<|im_end|>\\n' }}{% endfor %}" }, { bosToken: '<s>', eosToken: '<|im_end|>' })
    const report = await run(garbled, [{ id: '7', messages: dialogue }, { id: '8', messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'ok' }] }], 'skip')
    expect(report.samples).toBe(1)
    expect(report.skipped).toMatchInlineSnapshot(`
      [
        {
          "reason": "template custom: message 3's call to "search_hotels" does not parse back from the rendered turn as JSON with its arguments {"city":"北京","stars":5}",
          "where": "conversation 7",
        },
      ]
    `)
  })
})

describe('parseReply: an assistant turn back into text and calls', () => {
  test("each layout's rendered call turns parse back to the data's calls", () => {
    for (const name of ['chatml', 'llama-3', 'mistral-instruct'] as const) {
      const eos = name === 'chatml' ? '<|im_end|>' : name === 'llama-3' ? '<|eot_id|>' : '</s>'
      const template = chatTemplate(name, { bosToken: '<s>', eosToken: eos })
      for (const { messages, tools } of casesOf(name)) {
        const rendered = renderSpans(template, messages, eos, tools)
        for (const span of rendered.assistant) {
          const m = messages[span.message]!
          // only Mistral's layout writes call ids
          const calls = (m.toolCalls ?? []).map(({ id, ...c }) => (name === 'mistral-instruct' && id !== undefined ? { ...c, id } : c))
          expect(parseReply(name, rendered.text.slice(span.start, span.end), eos)).toEqual({ content: m.content, toolCalls: calls, invalid: [] })
        }
      }
    }
  })

  test('what a model might write: text and calls, broken JSON, an unclosed block, plain answers', () => {
    expect(parseReply('chatml', 'Checking.\n<tool_call>\n{"name": "weather", "arguments": {"city": "Paris"}}\n</tool_call>\n<tool_call>\n{"name": "weather", "arguments": {city: Rome}}\n</tool_call>\n<tool_call>\n{"name": "x"')).toEqual({
      content: 'Checking.',
      toolCalls: [{ name: 'weather', arguments: { city: 'Paris' } }],
      invalid: ['tool call 2 is not a JSON tool call: "{\\"name\\": \\"weather\\", \\"arguments\\": {city: Rome}}"', 'tool call 3 is not closed by </tool_call>'],
    })
    expect(parseReply('llama-3', '{"name": "weather", "parameters": {"city": "Paris"}}<|eot_id|>', '<|eot_id|>')).toEqual({ content: '', toolCalls: [{ name: 'weather', arguments: { city: 'Paris' } }], invalid: [] })
    expect(parseReply('llama-3', '{"name": "weather", "parameters": {"city": ')).toEqual({ content: '', toolCalls: [], invalid: ['tool call 1 is not JSON: "{\\"name\\": \\"weather\\", \\"parameters\\": {\\"city\\":"'] })
    expect(parseReply('mistral-instruct', 'It is sunny.</s>', '</s>')).toEqual({ content: 'It is sunny.', toolCalls: [], invalid: [] })
    expect(parseReply('gemma', '<tool_call>\n{"name": "weather", "arguments": {}}\n</tool_call>')).toEqual({ content: '<tool_call>\n{"name": "weather", "arguments": {}}\n</tool_call>', toolCalls: [], invalid: [] })
  })
})
