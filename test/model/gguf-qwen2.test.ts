// exportGguf on a tiny Qwen2 (byte-level BPE, attention biases, tied embeddings, NEOX rope): the
// `gpt2` tokenizer form with merges and the qwen2 pre-tokenizer, biases in F32, no output tensor,
// no q/k permutation. llama.cpp tokenizes as tunekit does and decodes greedily as tfjs does.
import { loadTokenizer, type LoadedTokenizer } from '@tunekit/data'
import { exportGguf, type GgufExportResult } from '@tunekit/hf'
import { oppositesDataset } from '@tunekit/recipes'
import { createTfjsBackend, encodePrompt, selectEngine } from '@tunekit/tfjs'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { getLlama, LlamaLogLevel, type Llama } from 'node-llama-cpp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runReference } from '../python.ts'
import { tinyQwen2Model, tmp, type TinyChatModel } from './gguf-fixture.ts'

const { heldOut } = oppositesDataset({ seed: 0, heldOut: 0.1 })
const questions = heldOut.slice(0, 8).map((q) => q.prompt)
const corpus = `${heldOut.map((q) => `${q.prompt} ${q.answer}`).join('\n')}\nThe quick brown fox jumps over the lazy dog. Numbers like 2024 and 3.14 too.`

let model: TinyChatModel
let tok: LoadedTokenizer
let exported: GgufExportResult
let llama: Llama

beforeAll(async () => {
  model = await tinyQwen2Model(corpus)
  tok = await loadTokenizer(model.dir)
  exported = await exportGguf(model.dir, join(await tmp(), 'qwen2.gguf'), { type: 'F32' })
  llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, progressLogs: false })
}, 120_000)

afterAll(async () => {
  await llama?.dispose()
})

describe('exportGguf on qwen2', () => {
  it('writes the gpt2 tokenizer form, biases in F32 and no output tensor (tied embeddings)', () => {
    const read = JSON.parse(
      runReference(
        'import sys, json, gguf\nr = gguf.GGUFReader(sys.stdin.read())\n' +
          'f = {k: (len(v.data) if k in ("tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.token_type") else v.contents()) for k, v in r.fields.items() if k.startswith(("tokenizer.", "qwen2.", "general.arch"))}\n' +
          'f["first_merges"] = r.fields["tokenizer.ggml.merges"].contents()[:2]\n' +
          'print(json.dumps({"fields": f, "tensors": [[t.name, t.tensor_type.name, [int(n) for n in t.shape]] for t in r.tensors if t.name.startswith(("blk.0.attn", "output", "token"))]}))',
        exported.file,
      ),
    ) as { fields: Record<string, unknown>; tensors: Array<[string, string, number[]]> }
    const { 'tokenizer.chat_template': _template, first_merges: firstMerges, ...fields } = read.fields
    const vocab = model.config.vocabSize
    const merges = (JSON.parse(readFileSync(join(model.dir, 'tokenizer.json'), 'utf8')) as { model: { merges: string[] } }).model.merges
    expect(merges.length).toBeGreaterThan(100) // what the corpus gives of the 200 asked for
    expect(fields).toEqual({
      'general.architecture': 'qwen2',
      'qwen2.context_length': 2048, 'qwen2.embedding_length': 64, 'qwen2.block_count': 2, 'qwen2.feed_forward_length': 128,
      'qwen2.attention.head_count': 4, 'qwen2.attention.head_count_kv': 2, 'qwen2.rope.freq_base': 1_000_000,
      'qwen2.attention.layer_norm_rms_epsilon': expect.closeTo(1e-5, 10), 'qwen2.vocab_size': vocab, 'qwen2.rope.dimension_count': 16,
      'tokenizer.ggml.model': 'gpt2', 'tokenizer.ggml.pre': 'qwen2', 'tokenizer.ggml.tokens': vocab, 'tokenizer.ggml.token_type': vocab, 'tokenizer.ggml.merges': merges.length,
      'tokenizer.ggml.eos_token_id': vocab - 1, 'tokenizer.ggml.padding_token_id': vocab - 3,
      'tokenizer.ggml.add_bos_token': false, 'tokenizer.ggml.add_eos_token': false,
    })
    expect(firstMerges).toEqual(merges.slice(0, 2))
    expect(read.tensors).toEqual([
      ['token_embd.weight', 'F32', [64, vocab]],
      ['blk.0.attn_q.weight', 'F32', [64, 64]], ['blk.0.attn_q.bias', 'F32', [64]], ['blk.0.attn_k.weight', 'F32', [64, 32]], ['blk.0.attn_k.bias', 'F32', [32]],
      ['blk.0.attn_v.weight', 'F32', [64, 32]], ['blk.0.attn_v.bias', 'F32', [32]], ['blk.0.attn_output.weight', 'F32', [64, 64]], ['blk.0.attn_norm.weight', 'F32', [64]],
      ['output_norm.weight', 'F32', [64]],
    ])
  })

  it('llama.cpp tokenizes as tunekit and decodes greedily as the tfjs backend', async () => {
    const loaded = await llama.loadModel({ modelPath: exported.file, gpuLayers: 0 })
    try {
      expect([loaded.vocabularyType, loaded.tokens.bos, loaded.tokens.eos, loaded.tokens.shouldPrependBosToken]).toEqual(['bpe', null, model.config.vocabSize - 1, false])
      for (const text of ["What's the opposite of hot?", 'über 2024, naïve… 🚀', '  spaces\n\nand lines\t', '<|im_start|>user\nHi<|im_end|>\n']) {
        expect(loaded.tokenize(text, true), text).toEqual(encodePrompt(tok, text))
      }
      await selectEngine('wasm')
      const backend = createTfjsBackend({ device: 'wasm' })
      const context = await loaded.createContext({ contextSize: 128, threads: 1, sequences: 1, flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' })
      try {
        for (const q of questions) {
          const prompt = `<|im_start|>user\n${q}<|im_end|>\n<|im_start|>assistant\n`
          const sequence = context.getSequence()
          const ids: number[] = []
          for await (const t of sequence.evaluate(loaded.tokenize(prompt, true), { temperature: 0 })) {
            if (loaded.isEogToken(t) || ids.length >= 8) break
            ids.push(t)
          }
          sequence.dispose()
          expect(tok.decode(ids), q).toBe(await backend.generate({ model: model.dir, prompt, maxNewTokens: 8, temperature: 0 }))
        }
      } finally {
        await context.dispose()
        await backend.dispose?.()
      }
    } finally {
      await loaded.dispose()
    }
  })
})
