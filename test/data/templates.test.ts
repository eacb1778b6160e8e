import { execFileSync } from 'node:child_process'
import { mkdir, writeFile, copyFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { builtinTemplates, chatTemplate, loadTokenizer, renderChat, runTokenize, savedChatTemplate, tokenizeConversations, turnEnd, type BuiltinTemplate, type Conversation, type LoadedTokenizer, type Message } from '@tunekit/data'
import { workerPython } from '../python.ts'
import { tempDir, tinyTokenizer } from './helpers.ts'

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => (tmp = await tempDir()))
afterAll(() => tmp.done())

const chat: Message[] = [
  { role: 'system', content: 'be kind' },
  { role: 'user', content: 'hello' },
  { role: 'assistant', content: 'hello world' },
  { role: 'user', content: 'two plus two?' },
  { role: 'assistant', content: 'four' },
]

const tokens = ['<|im_start|>', '<|im_end|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>', '<start_of_turn>', '<end_of_turn>', '<|system|>', '<|user|>', '<|assistant|>', '<|end|>']

/** The labelled text of each sample: decoded runs of supervised tokens. */
async function trainedText(tok: LoadedTokenizer, name: BuiltinTemplate, messages: Message[], mask: 'assistant' | 'last-assistant' = 'assistant'): Promise<string[]> {
  const template = chatTemplate(name, { bosToken: tok.bos!.token, eosToken: tok.eos.token })
  const runs: string[] = []
  await tokenizeConversations([{ id: '0', messages }], tok, { template, maxLength: 256, truncation: 'truncate', mask, onError: 'fail' }, ({ ids, mask: m }) => {
    let run: number[] = []
    ids.forEach((id, t) => {
      if (m[t]) run.push(id)
      else if (run.length) {
        runs.push(tok.decode(run))
        run = []
      }
    })
    if (run.length) runs.push(tok.decode(run))
  })
  return runs
}

describe('built-in chat templates', () => {
  test.each(Object.keys(builtinTemplates) as BuiltinTemplate[])('%s renders a conversation', (name) => {
    const template = chatTemplate(name, { bosToken: '<s>', eosToken: turnEnd[name] ?? '</s>' })
    expect(renderChat(template, chat) + '⟂' + renderChat(template, chat.slice(0, 4), true)).toMatchSnapshot()
  })

  test.each(Object.keys(builtinTemplates) as BuiltinTemplate[])('%s: labels are exactly the assistant turns and their end token', async (name) => {
    const tok = await loadTokenizer(tinyTokenizer, { add: tokens }, { eos: turnEnd[name] })
    const eos = tok.eos.token
    const runs = await trainedText(tok, name, chat)
    // llama-2 puts a space before the answer and before eos; llava one before the answer (after `ASSISTANT:`)
    const expected = name === 'llama-2' ? [` hello world ${eos}`, ` four ${eos}`] : name === 'llava' ? [` hello world${eos}`, ` four${eos}`] : [`hello world${eos}`, `four${eos}`]
    expect(runs).toEqual(expected)
    expect(await trainedText(tok, name, chat, 'last-assistant')).toEqual(expected.slice(1))
  })

  test("the model's own chat_template ('model') is used and written with the artifact", async () => {
    const dir = join(tmp.dir, 'own-template')
    await mkdir(dir, { recursive: true })
    await copyFile(join(tinyTokenizer, 'tokenizer.json'), join(dir, 'tokenizer.json'))
    const own = "{% for m in messages %}{{ m['role'] | upper + ': ' + m['content'] + (eos_token if m['role'] == 'assistant' else '\\n') }}{% endfor %}"
    await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<s>', eos_token: '</s>', chat_template: own }))
    const conversations: Conversation[] = [{ id: '0', messages: chat.slice(1, 3) }]
    const out = join(tmp.dir, 'own-out')
    const { report } = await runTokenize(conversations, dir, out, { template: 'model', maxLength: 64, truncation: 'truncate', mask: 'assistant', onError: 'fail', tokens: {} })
    expect(report.template).toBe('model')
    expect(report.eosChecked).toBe(1)
    const { readFile } = await import('node:fs/promises')
    // training put bos first (the tokenizer adds one) and the template does not write it: the saved
    // template does, so apply_chat_template(tokenize=True) gives the trained ids
    expect(await readFile(join(out, 'chat_template.jinja'), 'utf8')).toBe(`{{ bos_token }}${own}`)
    expect(JSON.parse(await readFile(join(out, 'tokenizer', 'tokenizer_config.json'), 'utf8')).chat_template).toBe(`{{ bos_token }}${own}`)
    const noBos = join(tmp.dir, 'own-out-no-bos')
    await runTokenize(conversations, dir, noBos, { template: 'model', maxLength: 64, truncation: 'truncate', mask: 'assistant', onError: 'fail', tokens: { addBos: false } })
    expect(await readFile(join(noBos, 'chat_template.jinja'), 'utf8')).toBe(own)
  })

  test('the saved template writes bos only when training put it first and the template does not', async () => {
    const tok = await loadTokenizer(tinyTokenizer)
    const template = (name: 'chatml' | 'mistral-instruct') => chatTemplate(name, { bosToken: tok.bos!.token, eosToken: tok.eos.token })
    expect(savedChatTemplate(template('chatml'), tok)).toBe(`{{ bos_token }}${builtinTemplates.chatml}`)
    expect(savedChatTemplate(template('mistral-instruct'), tok)).toBe(builtinTemplates['mistral-instruct']) // it starts with {{ bos_token }} itself
    expect(savedChatTemplate(template('chatml'), { ...tok, addBos: false })).toBe(builtinTemplates.chatml)
  })
})

describe('template failures are errors with codes', () => {
  test('a template whose prefixes are not prefixes of the whole conversation', async () => {
    const tok = await loadTokenizer(tinyTokenizer, { chatml: true })
    const reversed = chatTemplate({ jinja: "{% for m in messages | reverse %}{{ m['content'] + eos_token }}{% endfor %}" }, { bosToken: '<s>', eosToken: tok.eos.token })
    const err = await tokenizeConversations([{ id: '7', messages: chat.slice(1, 3) }], tok, { template: reversed, maxLength: 64, truncation: 'truncate', mask: 'assistant', onError: 'fail' }, () => {}).catch((e: Error) => e)
    expect((err as Error).message).toMatchInlineSnapshot(`
      "The chat template cannot render a conversation
      ✖ TK305 conversation 7: rendering messages 1..2 does not give a prefix of the whole conversation, so turn boundaries are unknown → at data.template
        value: "custom"
        fix: Pick a template that supports these roles (data.template), or fix the conversation."
    `)
  })

  test("llama-2 cannot render a tool turn: with onError 'skip' the conversation is skipped and reported", async () => {
    const tok = await loadTokenizer(tinyTokenizer)
    const template = chatTemplate('llama-2', { bosToken: '<s>', eosToken: '</s>' })
    const withTool: Message[] = [{ role: 'user', content: 'add' }, { role: 'assistant', content: 'call' }, { role: 'tool', content: '6' }, { role: 'assistant', content: 'six' }]
    const report = await tokenizeConversations([{ id: '1', messages: withTool }, { id: '2', messages: chat }], tok, { template, maxLength: 128, truncation: 'truncate', mask: 'assistant', onError: 'skip' }, () => {})
    expect(report.samples).toBe(1)
    expect(report.skipped).toMatchInlineSnapshot(`
      [
        {
          "reason": "template llama-2: llama-2 needs user and assistant turns that alternate, starting with user",
          "where": "conversation 1",
        },
      ]
    `)
  })

  test('ChatML without the ChatML tokens: markers are not single tokens and eos is never supervised', async () => {
    const dir = join(tmp.dir, 'no-chatml')
    const err = await runTokenize([{ id: '0', messages: chat }], tinyTokenizer, dir, { template: 'chatml', maxLength: 128, truncation: 'truncate', mask: 'assistant', onError: 'fail', tokens: {} }).catch((e: Error) => e)
    expect((err as Error).message).toMatchInlineSnapshot(`
      "3 problems
      ✖ TK308 template chatml: "<|im_start|>" is not one token of this tokenizer (it encodes to 11 ids) → at tokens
        value: "<|im_start|>"
        fix: Add the special tokens the template writes to the tokenizer (tokens.add, or tokens.chatml for ChatML), or pick a template whose markers this tokenizer has (data.template).
      ✖ TK308 template chatml: "<|im_end|>" is not one token of this tokenizer (it encodes to 9 ids) → at tokens
        value: "<|im_end|>"
        fix: Add the special tokens the template writes to the tokenizer (tokens.add, or tokens.chatml for ChatML), or pick a template whose markers this tokenizer has (data.template).
      ✖ TK307 1 of 1 assistant turns, first conversation 0 (turn ending at token 77): the end-of-turn token "</s>" is not a supervised label → at tokens.eos
        value: "</s>"
        fix: Make sure the template ends assistant turns with the eos token (tokens.eos) and that it is not the pad token."
    `)
  })
})

describe('the ChatML fast path', () => {
  test('gives the same text and spans as rendering the Jinja template', async () => {
    const { renderSpans } = await import('@tunekit/data')
    const chatml = chatTemplate('chatml', { bosToken: '<s>', eosToken: '<|im_end|>' })
    // the same Jinja text under another name takes the interpreter path
    const viaJinja = chatTemplate({ jinja: chatml.jinja + '{# interpreted #}' }, { bosToken: '<s>', eosToken: '<|im_end|>' })
    const conversations: Message[][] = [
      chat,
      chat.slice(1, 3),
      [{ role: 'user', content: 'say <|im_end|> twice' }, { role: 'assistant', content: 'ok <|im_end|> and </s>' }],
      [{ role: 'user', content: '' }, { role: 'assistant', content: '' }, { role: 'user', content: 'a\n\n' }, { role: 'assistant', content: '\n' }],
    ]
    for (const messages of conversations)
      for (const end of ['<|im_end|>', '</s>', ''])
        expect(renderSpans(chatml, messages, end)).toEqual(renderSpans(viaJinja, messages, end))
  })
})

describe('tools', () => {
  test("a conversation's tool definitions reach templates that use `tools`", async () => {
    const tok = await loadTokenizer(tinyTokenizer, { chatml: true })
    const jinja = "{% if tools %}{{ '<|im_start|>system\\ntools: ' + (tools | map(attribute='function') | map(attribute='name') | join(', ')) + '<|im_end|>\\n' }}{% endif %}" + builtinTemplates.chatml
    const template = chatTemplate({ jinja }, { bosToken: '<s>', eosToken: tok.eos.token })
    const texts: string[] = []
    await tokenizeConversations([{ id: '0', messages: chat.slice(1, 3), tools: [{ name: 'plus' }, { name: 'minus' }] }], tok,
      { template, maxLength: 512, truncation: 'truncate', mask: 'assistant', onError: 'fail' }, ({ ids }) => void texts.push(tok.decode(ids)))
    expect(texts[0]).toContain('tools: plus, minus')
  })
})

// llava-hf/llava-1.5-7b-hf's chat_template (its chat_template.json; the same text is transformers'
// LLaVA processor test fixture, tests/models/llava/test_processor_llava.py's prepare_processor_dict).
// Typed content parts, images first; an assistant turn ends with a space and no eos.
const llavaHfTemplate =
  "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}{% endif %}" +
  "{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\\n' }}{% endfor %}" +
  "{# Render all text next #}{% if message['role'] != 'assistant' %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' '}}{% endfor %}" +
  "{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{% generation %}{{ content['text'] + ' '}}{% endgeneration %}{% endfor %}{% endif %}{% endfor %}" +
  "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"

describe('llava: LLaVA-1.5 as transformers renders llava-hf/llava-1.5-7b-hf', () => {
  test("renders as apply_chat_template does with the checkpoint's template, with eos where it writes a space after an answer", () => {
    const conversation: Message[] = [
      { role: 'system', content: 'Read the picture.' },
      { role: 'user', content: '<image>\nWhat colour is the square?' },
      { role: 'assistant', content: 'red' },
      { role: 'user', content: 'And the circle?' },
      { role: 'assistant', content: 'blue' },
    ]
    // the same conversation in typed parts, the `<image>` placeholder as an image part
    const parts = conversation.map((m) => ({
      role: m.role,
      content: m.content.startsWith('<image>\n') ? [{ type: 'image' }, { type: 'text', text: m.content.slice('<image>\n'.length) }] : [{ type: 'text', text: m.content }],
    }))
    const cases = [{ n: 2, gen: true }, { n: 4, gen: true }, { n: 5, gen: false }]
    const script = `
import json, sys
from transformers import PreTrainedTokenizerFast
t = PreTrainedTokenizerFast(tokenizer_file=sys.argv[1], bos_token="<s>", eos_token="</s>")
parts, cases = json.loads(sys.stdin.read())
print(json.dumps([t.apply_chat_template(parts[:c["n"]], chat_template=sys.argv[2], tokenize=False, add_generation_prompt=c["gen"]) for c in cases]))`
    const hf = JSON.parse(execFileSync(workerPython(), ['-c', script, join(tinyTokenizer, 'tokenizer.json'), llavaHfTemplate], {
      input: JSON.stringify([parts, cases]), env: { ...process.env, TRANSFORMERS_VERBOSITY: 'error' },
    }).toString().trim().split('\n').at(-1)!) as string[]
    expect(hf[0]).toBe('Read the picture. USER: <image>\nWhat colour is the square? ASSISTANT:')
    const llava = chatTemplate('llava', { bosToken: '<s>', eosToken: '</s>' })
    const ours = cases.map((c) => renderChat(llava, conversation.slice(0, c.n), c.gen))
    // LLaVA-1.5 trained each answer ending in eos (conv_vicuna_v1's "</s>"); the hub template writes ' '
    const withEos = (text: string): string => text.replace('ASSISTANT: red ', 'ASSISTANT: red</s>').replace('ASSISTANT: blue ', 'ASSISTANT: blue</s>')
    expect(ours).toEqual(hf.map(withEos))
  })
})
