import { execFileSync } from 'node:child_process'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import llamaTokenizer from 'llama-tokenizer-js'
import { chatTemplate, loadTokenizer, renderChat, saveTokenizer, spanEncoder, tokenizeConversations, tokenizerFromFiles, type LoadedTokenizer, type TokenizerJson } from '@tunekit/data'
import { mistralTokenizer, readJson, tempDir, tinyTokenizer } from './helpers.ts'
import { workerPython } from '../python.ts'

const python = workerPython()

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => (tmp = await tempDir()))
afterAll(() => tmp.done())

/** Seeded text set: unicode, digits, whitespace runs, tabs, emoji, chat markup, byte-fallback characters. */
function textSet(seed: number, count: number): string[] {
  let state = seed >>> 0
  const next = (n: number): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state % n
  }
  const parts = ['hello', ' world', '  ', '   ', '\t', '\n', '\n\n', '12345', '3.14', '-7', 'naïve', 'café', 'Straße', '日本語', '中文字符',
    'привет', 'ελληνικά', '😀', '🦙', '👩‍💻', '✓', '—', '…', '"quoted"', "it's", '<|im_start|>', '<|im_end|>', 'user\n', 'assistant\n',
    '<s>', '</s>', ' <|im_end|>', 'x=1;y=2', '#', '```', 'ﬁ', '\u00a0', 'a', 'The', ' the', 'Ok.', '?!']
  return Array.from({ length: count }, () => Array.from({ length: 1 + next(12) }, () => parts[next(parts.length)]!).join(''))
}

/** Encodes texts with Python `tokenizers` (the reference) from a saved tokenizer.json. */
function pythonIds(tokenizerJson: string, texts: string[]): number[][] {
  const script = `
import json, sys
from tokenizers import Tokenizer
t = Tokenizer.from_file(sys.argv[1])
texts = json.load(sys.stdin)
print(json.dumps([t.encode(x, add_special_tokens=False).ids for x in texts]))`
  return JSON.parse(execFileSync(python, ['-c', script, tokenizerJson], { input: JSON.stringify(texts), maxBuffer: 1 << 26 }).toString()) as number[][]
}

describe('tokenizers match Python tokenizers exactly', () => {
  let mistral: LoadedTokenizer
  let saved: string
  beforeAll(async () => {
    mistral = await loadTokenizer(mistralTokenizer, { chatml: true })
    saved = join(tmp.dir, 'mistral-chatml')
    await saveTokenizer(mistral, saved, chatTemplate('chatml', { bosToken: '<s>', eosToken: '<|im_end|>' }).jinja)
  })

  test('ChatML tokens get new ids 32000, 32001 on Mistral; <|im_end|> is eos', () => {
    expect(mistral.added).toEqual([{ token: '<|im_start|>', id: 32000 }, { token: '<|im_end|>', id: 32001 }])
    expect(mistral.eos).toEqual({ token: '<|im_end|>', id: 32001 })
    expect(mistral.vocabSize).toBe(32002)
    expect(mistral.encode('Hello')).toEqual([22557])
  })

  test('Mistral v0.1 + ChatML on 400 generated texts: ids identical to Python', () => {
    const texts = textSet(1, 400)
    const reference = pythonIds(join(saved, 'tokenizer.json'), texts)
    const mismatches = texts.flatMap((t, i) => (JSON.stringify(mistral.encode(t)) === JSON.stringify(reference[i]) ? [] : [t]))
    expect(mismatches).toEqual([])
  })

  test('tiny byte-level BPE on 400 generated texts: ids identical to Python', async () => {
    const tiny = await loadTokenizer(tinyTokenizer, { chatml: true })
    const dir = join(tmp.dir, 'tiny')
    await saveTokenizer(tiny, dir)
    const texts = textSet(2, 400)
    const reference = pythonIds(join(dir, 'tokenizer.json'), texts)
    expect(texts.filter((t, i) => JSON.stringify(tiny.encode(t)) !== JSON.stringify(reference[i]))).toEqual([])
    expect(texts.filter((t) => tiny.decode(tiny.encode(t)) !== t)).toEqual([])
  })

  test('transformers loads the saved folder: eos, pad, added tokens, chat template and ids agree', () => {
    const messages = [{ role: 'user', content: 'what is 2+2?' }, { role: 'assistant', content: 'four 😀' }]
    const script = `
import json, sys
from transformers import AutoTokenizer
t = AutoTokenizer.from_pretrained(sys.argv[1])
m = json.loads(sys.argv[2])
text = t.apply_chat_template(m, tokenize=False)
print(json.dumps({"eos": [t.eos_token, t.eos_token_id], "pad": [t.pad_token, t.pad_token_id], "len": len(t),
  "text": text, "ids": t(text, add_special_tokens=False)["input_ids"], "start": t.convert_tokens_to_ids("<|im_start|>")}))`
    const out = JSON.parse(execFileSync(python, ['-c', script, saved, JSON.stringify(messages)], { env: { ...process.env, TRANSFORMERS_VERBOSITY: 'error' } }).toString().trim().split('\n').at(-1)!)
    const template = chatTemplate('chatml', { bosToken: '<s>', eosToken: '<|im_end|>' })
    const text = renderChat(template, messages as never)
    expect(out).toEqual({ eos: ['<|im_end|>', 32001], pad: ['<unk>', 0], len: 32002, text, ids: mistral.encode(text), start: 32000 })
  })
})

describe('splitting at added tokens matches the tokenizer', () => {
  test('the span encoder gives the ids of whole-text encoding, with lstrip / rstrip tokens too (Python reference)', async () => {
    const json = await readJson<TokenizerJson>(join(tinyTokenizer, 'tokenizer.json'))
    json.added_tokens.push({ id: 320, content: '<mask>', single_word: false, lstrip: true, rstrip: false, normalized: false, special: true })
    json.added_tokens.push({ id: 321, content: '<sep>', single_word: false, lstrip: false, rstrip: true, normalized: false, special: true })
    const tok = tokenizerFromFiles(json, await readJson(join(tinyTokenizer, 'tokenizer_config.json')), { chatml: true })
    const dir = join(tmp.dir, 'stripping')
    await saveTokenizer(tok, dir)
    const texts = ['hello  <mask> world', 'a <sep>  b', ' <mask><sep> \n<|im_start|>user\nhi<|im_end|>', ...textSet(4, 60).map((t) => t.replaceAll('</s>', ' <mask> ').replaceAll('<s>', '<sep>  '))]
    const reference = pythonIds(join(dir, 'tokenizer.json'), texts)
    const encoder = spanEncoder(tok)
    expect(texts.filter((t, i) => JSON.stringify(encoder.encode(t, [], false).ids) !== JSON.stringify(reference[i]))).toEqual([])
    expect(texts.filter((t, i) => JSON.stringify(tok.encode(t)) !== JSON.stringify(reference[i]))).toEqual([])
  })
})

describe('the real Llama 2 vocabulary (llama-tokenizer-js)', () => {
  let llama: LoadedTokenizer
  beforeAll(async () => {
    // Llama 2 and Mistral v0.1 share the SentencePiece-BPE pipeline (normaliser, byte fallback,
    // decoder); only the vocabulary and merges differ, so Llama 2's tokenizer.json is Mistral's
    // with llama-tokenizer-js's vocabulary and merges (in merge-priority order).
    const mistral = await readJson<TokenizerJson & { model: Record<string, unknown> }>(join(mistralTokenizer, 'tokenizer.json'))
    const vocab: Record<string, number> = {}
    llamaTokenizer.vocabById.forEach((token, id) => (vocab[token] = id))
    const merges = [...llamaTokenizer.merges.entries()].sort((a, b) => a[1] - b[1]).map(([pair]) => pair)
    const json = { ...mistral, model: { ...mistral.model, vocab, merges } } as TokenizerJson
    const config = await readJson<Record<string, unknown>>(join(mistralTokenizer, 'tokenizer_config.json'))
    llama = tokenizerFromFiles(json, config)
  })

  test.each([
    ['grabbed', [1, 2646, 1327, 287]],
    [' grabbed', [1, 29871, 2646, 1327, 287]],
    ['           grabbed', [1, 9651, 2646, 1327, 287]],
    ['\n', [1, 29871, 13]],
    ['ax\n####\nboo', [1, 4853, 13, 4136, 13, 833, 29877]],
    ['镇', [1, 29871, 30411]],
    ['🦙Ꙋ', [1, 29871, 243, 162, 169, 156, 237, 156, 141]],
  ])('%j encodes as Llama 2 does', (text, ids) => {
    expect([llama.bos!.id, ...llama.encode(text)]).toEqual(ids)
    expect(llamaTokenizer.encode(text)).toEqual(ids)
  })

  test('generated texts agree with llama-tokenizer-js', () => {
    const texts = textSet(3, 100).map((t) => t.replaceAll('<|im_start|>', '').replaceAll('<|im_end|>', '').replaceAll('<s>', '').replaceAll('</s>', ''))
    expect(texts.filter((t) => t !== '' && JSON.stringify([1, ...llama.encode(t)]) !== JSON.stringify(llamaTokenizer.encode(t)))).toEqual([])
  })
})

describe('pad handling never removes eos from the labels', () => {
  test('pad = eos: the eos label stays supervised; pad is masked by position', async () => {
    const tok = await loadTokenizer(tinyTokenizer, { chatml: true, pad: '<|im_end|>' })
    expect(tok.pad).toEqual(tok.eos)
    const template = chatTemplate('chatml', { bosToken: '<s>', eosToken: tok.eos.token })
    const samples: { ids: number[]; mask: Uint8Array }[] = []
    const report = await tokenizeConversations([{ id: 'a', messages: [{ role: 'user', content: 'hello' }, { role: 'assistant', content: 'yes' }] }], tok,
      { template, maxLength: 64, truncation: 'truncate', mask: 'assistant', onError: 'fail' }, (s) => void samples.push(s))
    const s = samples[0]!
    const eosAt = s.ids.lastIndexOf(tok.eos.id)
    expect(s.mask[eosAt]).toBe(1)
    expect(report.eosMissing).toBe(0)
  })

  test('adding a token that exists reuses its id; an unknown eos is added', async () => {
    const tok = await loadTokenizer(tinyTokenizer, { add: ['</s>', '<tool>'], eos: '<|eot|>' })
    expect(tok.added).toEqual([{ token: '<tool>', id: 320 }, { token: '<|eot|>', id: 321 }])
    expect(tok.eos).toEqual({ token: '<|eot|>', id: 321 })
  })
})
