// lora.trainableTokens is resolved to ids once, by the tokenize node, into its index.json and
// report.json; both backends and the initial adapter read that list (one rule, not three).
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Json } from '@tunekit/core'
import { loadTokenizer, trainableTokenIds, type LoadedTokenizer } from '@tunekit/data'
import { readJson, runDataNodes, tempDir, tinyTokenizer } from './helpers.ts'

let tmp: Awaited<ReturnType<typeof tempDir>>
let tok: LoadedTokenizer
beforeAll(async () => {
  tmp = await tempDir()
  tok = await loadTokenizer(tinyTokenizer, { chatml: true, add: ['<tool>'] })
})
afterAll(() => tmp.done())

describe('trainable token ids', () => {
  it('true: the tokens the recipe adds, by name; a list: those tokens; false: none', () => {
    const tokens = { chatml: true, add: ['<tool>'] }
    const ids = ['<|im_start|>', '<|im_end|>', '<tool>'].map((t) => tok.idOf(t)!)
    expect(trainableTokenIds(true, tokens, tok.idOf)).toEqual(ids)
    expect(trainableTokenIds(['<tool>'], tokens, tok.idOf)).toEqual([ids[2]])
    expect(trainableTokenIds(false, tokens, tok.idOf)).toEqual([])
    // by name, not "the rows past the base vocabulary" (the torch worker's old rule): ChatML's two alone
    expect(trainableTokenIds(true, { chatml: true, add: [] }, tok.idOf)).toEqual(ids.slice(0, 2))
  })

  it('a name the tokenizer does not know is a catalog error', () => {
    expect(() => trainableTokenIds(['<nope>'], { chatml: false, add: [] }, tok.idOf)).toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: Value not allowed
      ✖ TK104 expected one of "tokens the tokenizer knows" → at lora.trainableTokens
        value: "<nope>"
        fix: Use one of the allowed values.]
    `)
  })

  it('the tokenize node writes them into index.json and report.json', async () => {
    const tokenize: { [key: string]: Json } = {
      render: { kind: 'chat', template: 'chatml', mask: 'assistant' }, maxLength: 64, truncation: 'truncate', onError: 'fail',
      tokens: { chatml: true, add: ['<tool>'], addBos: true }, family: 'llama', trainableTokens: true,
    }
    const { dirs } = await runDataNodes(join(tmp.dir, 'run'), { source: { source: { kind: 'file', path: 'chatml.jsonl' } }, format: { format: 'chatml-text', onError: 'fail' }, tokenize }, { modelDir: tinyTokenizer })
    const ids = ['<|im_start|>', '<|im_end|>', '<tool>'].map((t) => tok.idOf(t)!)
    expect((await readJson<{ trainableTokenIds: number[] }>(join(dirs.tokenize!, 'index.json'))).trainableTokenIds).toEqual(ids)
    expect((await readJson<{ trainableTokenIds: number[] }>(join(dirs.tokenize!, 'report.json'))).trainableTokenIds).toEqual(ids)
  })
})
