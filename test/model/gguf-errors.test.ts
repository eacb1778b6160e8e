// exportGguf's user errors (each a catalog entry with a fix) and the Ollama Modelfile it writes.
import { exportGguf, isChatml, modelfileText, writeModelWeights, openModelWeights, type GgufExportType } from '@tunekit/hf'
import { builtinTemplates } from '@tunekit/data'
import { existsSync, readdirSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { tinyQwen2Model, tmp, type TinyChatModel } from './gguf-fixture.ts'

let model: TinyChatModel
beforeAll(async () => {
  model = await tinyQwen2Model('the opposite of hot is cold, of up is down')
})

/** A copy of the tiny model folder with some files replaced. */
async function variant(files: Record<string, string>): Promise<string> {
  const dir = await tmp()
  for (const name of readdirSync(model.dir)) await writeFile(join(dir, name), await readFile(join(model.dir, name)))
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text)
  return dir
}

const message = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p
  } catch (e) {
    return (e as Error).message
  }
  throw new Error('expected an error')
}

describe('exportGguf errors', () => {
  it('an unknown type names the allowed ones', async () => {
    const type: string = 'Q5_K' // as a program or the future export node may pass it
    const out = join(await tmp(), 'x.gguf')
    expect(await message(exportGguf(model.dir, out, { type: type as GgufExportType }))).toMatchInlineSnapshot(`
      "Unknown GGUF tensor type
      ✖ TK621 "Q5_K" is not a GGUF export type; allowed: "F32", "F16", "Q8_0", "Q4_0" → at export.type
        value: "Q5_K"
        fix: Use 'F16' (half the size of F32, no loss that greedy decoding notices), 'Q8_0' (about a quarter) or 'Q4_0' (about an eighth, with some loss)."
    `)
    expect(existsSync(out)).toBe(false)
  })

  it('a model with scaled rotary embeddings is refused rather than written with plain rope', async () => {
    const config = JSON.parse(await readFile(join(model.dir, 'config.json'), 'utf8')) as Record<string, unknown>
    const dir = await variant({ 'config.json': JSON.stringify({ ...config, rope_scaling: { rope_type: 'linear', factor: 2 } }) })
    const out = join(dir, 'x.gguf')
    expect((await message(exportGguf(dir, out))).replaceAll(dir, '$DIR')).toMatchInlineSnapshot(`
      "GGUF export of a model with scaled rotary embeddings
      ✖ TK252 $DIR: config.json scales its rotary embeddings (rope type "linear"); the GGUF writer does not write llama.cpp's rope scaling keys or rope_freqs tensor yet, so the file would run with plain rotary embeddings and give other logits → at $DIR: config.json rope_scaling
        value: "linear"
        fix: Leave output.gguf empty for this model and convert the merged folder (runs/<name>/merged) with llama.cpp's convert_hf_to_gguf.py, which writes the rope scaling."
    `)
    expect(existsSync(out)).toBe(false)
  })

  it('a tokenizer llama.cpp has no form for (Unigram) is refused, naming the file', async () => {
    const json = JSON.parse(await readFile(join(model.dir, 'tokenizer.json'), 'utf8')) as { model: Record<string, unknown> }
    const dir = await variant({ 'tokenizer.json': JSON.stringify({ ...json, model: { type: 'Unigram', vocab: [['a', 0]] } }) })
    expect((await message(exportGguf(dir, join(dir, 'x.gguf')))).replaceAll(dir, '$DIR')).toMatchInlineSnapshot(`
      "The tokenizer has no llama.cpp form
      ✖ TK622 "$DIR/tokenizer.json" is a Unigram model with a byte-level pre-tokenizer; GGUF export writes SentencePiece BPE with byte fallback (llama, mistral) or a byte-level BPE whose pre-tokenizer llama.cpp knows (qwen2, llama-bpe, gpt-2) → at $DIR/tokenizer.json
        value: "Unigram"
        fix: Export a model with its original tokenizer.json, or convert it with llama.cpp's convert_hf_to_gguf.py, which knows more tokenizers."
    `)
  })

  it('a byte-level BPE with a split regex llama.cpp does not know is refused', async () => {
    const text = (await readFile(join(model.dir, 'tokenizer.json'), 'utf8')).replace('\\\\p{N}|', '\\\\p{N}{1,2}|')
    const dir = await variant({ 'tokenizer.json': text })
    expect((await message(exportGguf(dir, join(dir, 'x.gguf')))).replaceAll(dir, '$DIR')).toMatch(/\n✖ TK622 "\$DIR\/tokenizer.json" is a byte-level BPE whose split regex .* is none of llama.cpp's \(qwen2, llama-bpe, gpt-2\)/)
  })

  it('a tokenizer with more tokens than embedding rows', async () => {
    const config = JSON.parse(await readFile(join(model.dir, 'config.json'), 'utf8')) as Record<string, unknown>
    const dir = await variant({ 'config.json': JSON.stringify({ ...config, vocab_size: 100 }) })
    expect((await message(exportGguf(dir, join(dir, 'x.gguf')))).replaceAll(dir, '$DIR')).toMatchInlineSnapshot(`
      "The tokenizer has more tokens than the embedding has rows
      ✖ TK623 the tokenizer has 285 tokens but the model's embedding (vocab_size) has 100 rows → at $DIR/tokenizer.json
        value: 285
        fix: Export the merged model tunekit wrote with its own tokenizer/ files: training grows the embedding for every added token."
    `)
  })

  it('a folder without a weight the file needs (no lm_head, embeddings not tied)', async () => {
    const config = JSON.parse(await readFile(join(model.dir, 'config.json'), 'utf8')) as Record<string, unknown>
    const dir = await variant({ 'config.json': JSON.stringify({ ...config, tie_word_embeddings: false }) })
    const weights = await openModelWeights(model.dir)
    await writeModelWeights(dir, await Promise.all(weights.names.map(async (n) => [n, await weights.read(n)] as const)))
    await weights.close()
    expect((await message(exportGguf(dir, join(dir, 'x.gguf')))).replaceAll(dir, '$DIR')).toMatchInlineSnapshot(`
      "A weight the GGUF file needs is missing
      ✖ TK624 "$DIR" has no tensor "lm_head.weight" → at $DIR
        value: "lm_head.weight"
        fix: Export a merged model (runs/<name>/merged), not a base model plus adapter or a partial folder."
    `)
    expect(readdirSync(dir).filter((f) => f.includes('gguf'))).toEqual([]) // nothing half-written
  })
})

describe('the Ollama Modelfile', () => {
  it('is written beside the file: FROM it, the ChatML TEMPLATE and the stop tokens', async () => {
    const out = await tmp()
    const result = await exportGguf(model.dir, join(out, 'tiny-Q8_0.gguf'), { type: 'Q8_0' })
    expect(result.modelfile).toBe(join(out, 'Modelfile'))
    expect(await readFile(join(out, 'Modelfile'), 'utf8')).toMatchInlineSnapshot(`
      "FROM ./tiny-Q8_0.gguf

      TEMPLATE """{{- range .Messages }}<|im_start|>{{ .Role }}
      {{ .Content }}<|im_end|>
      {{ end }}<|im_start|>assistant
      """

      PARAMETER stop "<|im_end|>"
      PARAMETER stop "<|im_start|>"
      "
    `)
  })

  it('keeps a template that is not ChatML to the GGUF file, with the eos as stop', () => {
    expect(isChatml(builtinTemplates['llama-2'])).toBe(false)
    expect(modelfileText('sub/m.gguf', builtinTemplates['llama-2'], ['</s>'])).toMatchInlineSnapshot(`
      "FROM ./sub/m.gguf

      # The chat template is not ChatML: Ollama takes it from the GGUF file (tokenizer.chat_template).

      PARAMETER stop "</s>"
      "
    `)
  })
})
