// The BERT tokenizer tunekit builds, read three ways: tunekit's WordPiece encoder (ids, token
// types and offsets), @huggingface/tokenizers (ids and token types) and Python `tokenizers`
// (ids, type ids and offsets) must agree on question/context pairs, edge cases included.
import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Tokenizer } from '@huggingface/tokenizers'
import { wordPieceEncoder, writeWordPieceTokenizer, type WordPieceJson } from '@tunekit/data'
import { faqParagraphs } from '@tunekit/recipes'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { workerPython } from '../python.ts'

const paragraphs = faqParagraphs({ seed: 3, paragraphs: 12 })
// Accents, punctuation runs, CJK ideographs, a control character, tabs and characters the
// vocabulary lacks ([UNK]): the normaliser's and pre-tokeniser's cases.
const odd = ['Café résumé, naïve — déjà vu?!', '東京 is 大阪\tnot…', 'Zürich ☃ costs $42.50 (approx.)\u0007 ok', 'a'.repeat(120) + ' end']
const corpus = [...paragraphs.flatMap((p) => [p.context, ...p.qas.map((q) => q.question)]), odd[0]!, odd[1]!]
const pairs: Array<[string, string]> = [
  ...paragraphs.slice(0, 4).map((p): [string, string] => [p.qas[0]!.question, p.context]),
  [odd[0]!, odd[1]!],
  [odd[2]!, odd[3]!],
  ['  Leading  spaces ', 'Ünknown wörds like xyzzyq and QWERTY.'],
]

const PY = `
import json, sys
from tokenizers import Tokenizer
tok = Tokenizer.from_file(sys.argv[1])
out = []
for q, c in json.load(sys.stdin):
    e = tok.encode(q, c)
    out.append({"ids": e.ids, "typeIds": e.type_ids, "offsets": [list(o) for o in e.offsets]})
json.dump(out, sys.stdout)
`

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tunekit-wordpiece-'))
  await writeWordPieceTokenizer(dir, corpus, { vocabSize: 150 })
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('the WordPiece tokenizer tunekit builds', () => {
  it('has the special tokens first and the corpus characters in and after ##', async () => {
    const json = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')) as WordPieceJson & { model: { vocab: Record<string, number> } }
    const vocab = json.model.vocab
    expect(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((t) => vocab[t])).toEqual([0, 1, 2, 3, 4])
    expect(Object.keys(vocab).length).toBe(150) // the corpus has more words: the rest tokenise into pieces
    expect(vocab['e']).toBeDefined()
    expect(vocab['##e']).toBeDefined()
    expect(vocab['é']).toBeUndefined() // accents are stripped before counting
  })

  it('encodes pairs to the ids, token types and offsets of Python tokenizers and of @huggingface/tokenizers', async () => {
    const text = await readFile(join(dir, 'tokenizer.json'), 'utf8')
    const json = JSON.parse(text) as WordPieceJson
    const config = JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8')) as object
    const ours = wordPieceEncoder(json, 'tokenizer.json')
    const js = new Tokenizer(JSON.parse(text) as object, config)
    const py = JSON.parse(execFileSync(workerPython(), ['-c', PY, join(dir, 'tokenizer.json')], { input: JSON.stringify(pairs), encoding: 'utf8' })) as Array<{ ids: number[]; typeIds: number[]; offsets: number[][] }>
    for (const [i, [q, c]] of pairs.entries()) {
      const e = ours.encodePair(q, c)
      const h = js.encode(q, { text_pair: c, return_token_type_ids: true })
      expect({ ids: e.ids, typeIds: e.typeIds, offsets: e.offsets }, `pair ${i}`).toEqual(py[i])
      expect({ ids: h.ids, typeIds: h.token_type_ids }, `pair ${i}`).toEqual({ ids: e.ids, typeIds: e.typeIds })
    }
    // the edge cases do reach [UNK] (☃ and the 120-letter word) and split CJK ideographs
    const unk = ours.encodePair(odd[2]!, odd[3]!).ids.filter((id) => id === 1).length
    expect(unk).toBeGreaterThanOrEqual(2)
  })
})
