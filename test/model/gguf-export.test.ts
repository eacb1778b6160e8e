// exportGguf on tiny-chat's model shape (2 layers, hidden 64, the real Mistral tokenizer with
// ChatML's tokens), checked two ways: gguf-py's GGUFReader reads every file as expected, and
// llama.cpp itself (node-llama-cpp's prebuilt CPU binary) tokenizes like tunekit and, for F32 and
// F16, decodes greedily what tunekit's tfjs backend decodes from the merged folder.
//
// The model is random (see gguf-fixture.ts), so there are no right answers to check: the comparison
// is of greedy tokens, a sensitive test of the weights, names, q/k permutation and hyperparameters
// (without the permutation 1 of 32 first tokens agree). llama.cpp runs with an F32 KV cache: its
// default F16 cache rounds keys and values by ~1e-3, enough to flip the near-ties of an untrained
// model.
import { builtinTemplates, chatTemplate, loadTokenizer, renderChat, type LoadedTokenizer } from '@tunekit/data'
import { exportGguf, openModelWeights, type GgufExportResult, type GgufExportType } from '@tunekit/hf'
import { oppositesDataset } from '@tunekit/recipes'
import { createTfjsBackend, encodePrompt, selectEngine } from '@tunekit/tfjs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel, type Token } from 'node-llama-cpp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runReference } from '../python.ts'
import { tinyChatModel, tmp, type TinyChatModel } from './gguf-fixture.ts'

const types: GgufExportType[] = ['F32', 'F16', 'Q8_0', 'Q4_0']
// tiny-chat's 32 held-out questions; 8 new tokens each
const questions = oppositesDataset({ seed: 0, heldOut: 0.1 }).heldOut.map((q) => q.prompt)
const NEW_TOKENS = 8

let model: TinyChatModel
let tok: LoadedTokenizer
const exported = {} as Record<GgufExportType, GgufExportResult>
let tfjsAnswers: string[] = []
let llama: Llama
const facts = {} as Record<GgufExportType, { vocabulary: unknown[]; specials: string }>
/** A greedy answer; `probabilities`: llama.cpp's next-token distribution at each of its tokens (F32 only). */
type Answer = { ids: number[]; text: string; probabilities?: Array<ReadonlyMap<Token, number>> }
const answers = {} as Record<GgufExportType, Answer[]>

beforeAll(async () => {
  model = await tinyChatModel()
  tok = await loadTokenizer(model.dir)
  const out = await tmp()
  for (const type of types) exported[type] = await exportGguf(model.dir, join(out, type, `tiny-${type}.gguf`), { type })
  await selectEngine('wasm')
  const backend = createTfjsBackend({ device: 'wasm' })
  const template = chatTemplate({ jinja: await readFile(join(model.dir, 'chat_template.jinja'), 'utf8') }, { bosToken: '<s>', eosToken: '<|im_end|>' })
  for (const q of questions) tfjsAnswers.push(await backend.generate({ model: model.dir, prompt: renderChat(template, [{ role: 'user', content: q }], true), maxNewTokens: NEW_TOKENS, temperature: 0 }))
  await backend.dispose?.()
  llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, progressLogs: false })
  for (const type of types) {
    const loaded = await llama.loadModel({ modelPath: exported[type].file, gpuLayers: 0 })
    try {
      facts[type] = {
        vocabulary: [loaded.vocabularyType, loaded.tokens.bos, loaded.tokens.eos, loaded.tokens.shouldPrependBosToken, loaded.trainContextSize, loaded.embeddingVectorSize],
        specials: loaded.detokenize([32000, 32001] as Token[], true),
      }
      answers[type] = await llamaAnswers(loaded, type === 'F32')
    } finally {
      await loaded.dispose()
    }
  }
}, 120_000)

afterAll(async () => {
  await llama?.dispose()
})

/** Greedy answers of llama.cpp to the questions, rendered with the GGUF's own chat template. */
async function llamaAnswers(loaded: LlamaModel, withProbabilities: boolean): Promise<Answer[]> {
  const jinja = (loaded.fileInfo.metadata as { tokenizer: { chat_template: string } }).tokenizer.chat_template
  const template = chatTemplate({ jinja }, { bosToken: '<s>', eosToken: '<|im_end|>' })
  const context = await loaded.createContext({ contextSize: 128, threads: 1, sequences: 1, flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' })
  const answers: Answer[] = []
  try {
    for (const q of questions) {
      const prompt = [loaded.tokens.bos!, ...loaded.tokenize(renderChat(template, [{ role: 'user', content: q }], true), true)]
      const sequence = context.getSequence()
      const ids: number[] = []
      const probabilities: Array<ReadonlyMap<Token, number>> = []
      for await (const out of sequence.evaluateWithMetadata(prompt, { probabilities: withProbabilities }, { temperature: 0 })) {
        const t = out.token
        if (loaded.isEogToken(t) || ids.length >= NEW_TOKENS) break
        ids.push(t)
        if ('probabilities' in out) probabilities.push(out.probabilities as ReadonlyMap<Token, number>)
      }
      sequence.dispose()
      answers.push({ ids, text: tok.decode(ids), ...(withProbabilities ? { probabilities } : {}) })
    }
  } finally {
    await context.dispose()
  }
  return answers
}

describe('exportGguf → llama.cpp (node-llama-cpp)', () => {
  it('loads every type, with the vocabulary, special tokens and hyperparameters tunekit has', () => {
    for (const type of types) {
      expect(facts[type], type).toEqual({ vocabulary: ['spm', 1, 32001, true, 2048, 64], specials: '<|im_start|><|im_end|>' })
    }
  })

  it('tokenizes text as tunekit does: byte fallback, spaces, digits, ChatML tokens', async () => {
    const loaded = await llama.loadModel({ modelPath: exported.F32.file, gpuLayers: 0 })
    try {
      const texts = ['Hello world', '  two leading spaces and  a gap', 'über café naïve 🚀🦙', 'digits 1234567 and 3.14', 'tab\tnew\nline\n\n', '<|im_start|>user\nWhat is the opposite of hot?<|im_end|>\n<|im_start|>assistant\n']
      for (const text of texts) {
        expect([loaded.tokens.bos, ...loaded.tokenize(text, true)], text).toEqual(encodePrompt(tok, text))
        // llama.cpp detokenizes as the tokenizer.json decoder does
        const ids = loaded.tokenize(text, true)
        expect(loaded.detokenize(ids, true), text).toBe(tok.decode(ids))
      }
    } finally {
      await loaded.dispose()
    }
  })

  it('F32: greedy answers equal the tfjs backend on the merged folder; F16: they part from F32 at near-ties only', () => {
    const same = (type: GgufExportType): number => answers[type].filter((a, i) => a.text === tfjsAnswers[i]).length
    expect(same('F32')).toBe(questions.length)
    // F16 also rounds activations to half inside llama.cpp's CPU matmul, by how much depends on the
    // CPU's f16 path (31 of 32 answers equal on one machine, 29 on another): where an F16 answer
    // leaves F32's, the two tokens are a near-tie of F32's own distribution at that point
    const partings = answers.F16.flatMap((a, i) => {
      const f32 = answers.F32[i]!
      const at = a.ids.findIndex((id, k) => id !== f32.ids[k])
      if (at < 0) return []
      const p = f32.probabilities![at]!
      // log-probability gap: a random model spreads its probability thinly over 32k tokens
      return [{ question: i, at, gap: Math.log(p.get(f32.ids[at]! as Token)! / (p.get(a.ids[at]! as Token) ?? 0)) }]
    })
    // F32's top two tokens are 0.27 apart in log-probability at the median position, 0.013 at the
    // 5th percentile; the partings measured were 0.0006–0.011
    expect(partings.every((d) => d.gap < 0.03), JSON.stringify(partings)).toBe(true)
    expect(same('F16')).toBeGreaterThanOrEqual(questions.length / 2)
    expect(answers.F16.map((a) => a.ids[0])).toEqual(answers.F32.map((a) => a.ids[0]))
    expect(tfjsAnswers.every((a) => a.length > 0)).toBe(true)
  })

  it('Q8_0 and Q4_0: the first greedy token agrees with F32 as far as quantisation error allows', () => {
    const firstSame = (type: GgufExportType): number => answers[type].filter((a, i) => a.ids[0] === answers.F32[i]!.ids[0]).length
    expect(firstSame('Q8_0')).toBeGreaterThanOrEqual(28) // measured 30 of 32
    // 4-bit error moves a random model's logits by more than their gaps: measured 9 of 32, where
    // blocks read the wrong way (nibbles swapped) agree on none
    expect(firstSame('Q4_0')).toBeGreaterThanOrEqual(5)
  })
})

describe('exportGguf → gguf-py GGUFReader', () => {
  interface Read {
    version: number
    fields: Record<string, unknown>
    n_tokens: number
    tokens: string[]
    types: number[]
    tensors: Array<[string, string, number[]]>
    /** blk.1 attn_q, attn_k, ffn_down: the file's bytes equal gguf-py's quantisation of the (permuted) HF weight. */
    sameAsGgufPy: boolean[]
  }
  let read: Record<GgufExportType, Read>

  // One Python start reads all four files (GGUFReader parses the 32k-token vocabulary in seconds).
  beforeAll(async () => {
    const weights = await openModelWeights(model.dir)
    const src = async (name: string): Promise<number[]> => [...(await weights.readFloat(`model.layers.1.${name}.weight`)).data]
    const input = { q: await src('self_attn.q_proj'), k: await src('self_attn.k_proj'), down: await src('mlp.down_proj'), files: Object.fromEntries(types.map((t) => [t, exported[t].file])) }
    await weights.close()
    read = JSON.parse(
      runReference(
        'import sys, json, numpy as np, gguf\n' +
          'src = json.load(sys.stdin)\n' +
          '# convert_hf_to_gguf.py LlamaModel.permute\n' +
          'def permute(w, n_head): return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)\n' +
          'q = permute(np.array(src["q"], dtype=np.float32).reshape(64, 64), 4)\n' +
          'k = permute(np.array(src["k"], dtype=np.float32).reshape(32, 64), 2)\n' +
          'down = np.array(src["down"], dtype=np.float32).reshape(64, 128)\n' +
          'big = ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type")\n' +
          'sample = (0, 1, 2, 3, 261, 32000, 32001)\n' +
          'out = {}\n' +
          'for name, file in src["files"].items():\n' +
          '    r = gguf.GGUFReader(file)\n' +
          '    f = {k: v.contents() for k, v in r.fields.items() if not k.startswith("GGUF.") and k not in big}\n' +
          '    toks, types = r.fields["tokenizer.ggml.tokens"], r.fields["tokenizer.ggml.token_type"]\n' +
          '    t = {x.name: x for x in r.tensors}\n' +
          '    qtype = getattr(gguf.GGMLQuantizationType, name)\n' +
          '    same = lambda g, w: bytes(t[g].data.tobytes()) == bytes(gguf.quants.quantize(w, qtype).tobytes())\n' +
          '    out[name] = {"version": r.fields["GGUF.version"].contents(), "fields": f, "n_tokens": len(toks.data),\n' +
          '        "tokens": [toks.contents(i) for i in sample], "types": [types.contents(i) for i in sample],\n' +
          '        "tensors": [[x.name, x.tensor_type.name, [int(n) for n in x.shape]] for x in r.tensors],\n' +
          '        "sameAsGgufPy": [same("blk.1.attn_q.weight", q), same("blk.1.attn_k.weight", k), same("blk.1.ffn_down.weight", down)]}\n' +
          'print(json.dumps(out))',
        JSON.stringify(input),
      ),
    ) as Record<GgufExportType, Read>
  }, 120_000)

  it('writes the header, metadata, tensor names, types and shapes llama.cpp expects', () => {
    for (const type of types) {
      const r = read[type]
      expect(r.version).toBe(3)
      const { 'tokenizer.chat_template': template, ...fields } = r.fields
      expect(template).toBe(builtinTemplates.chatml)
      expect(fields, type).toEqual({
        'general.architecture': 'llama', 'general.type': 'model', 'general.name': expect.any(String),
        'general.file_type': { F32: 0, F16: 1, Q8_0: 7, Q4_0: 2 }[type], 'general.quantization_version': 2,
        'llama.context_length': 2048, 'llama.embedding_length': 64, 'llama.block_count': 2, 'llama.feed_forward_length': 128,
        'llama.attention.head_count': 4, 'llama.attention.head_count_kv': 2, 'llama.rope.freq_base': 10000,
        'llama.attention.layer_norm_rms_epsilon': expect.closeTo(1e-5, 10), 'llama.vocab_size': 32002, 'llama.rope.dimension_count': 16,
        'llama.attention.sliding_window': 1024,
        'tokenizer.ggml.model': 'llama', 'tokenizer.ggml.pre': 'default',
        'tokenizer.ggml.bos_token_id': 1, 'tokenizer.ggml.eos_token_id': 32001, 'tokenizer.ggml.unknown_token_id': 0, 'tokenizer.ggml.padding_token_id': 0,
        'tokenizer.ggml.add_bos_token': true, 'tokenizer.ggml.add_eos_token': false, 'tokenizer.ggml.add_space_prefix': true,
      })
      // unknown, control, control, byte, normal, control (ChatML), control
      expect([r.n_tokens, r.tokens, r.types]).toEqual([32002, ['<unk>', '<s>', '</s>', '<0x00>', '▁t', '<|im_start|>', '<|im_end|>'], [2, 3, 3, 6, 1, 3, 3]])
      // shapes as ggml's ne: the input (fastest) dimension first
      const layer = (i: number): Array<[string, string, number[]]> => [
        [`blk.${i}.attn_q.weight`, type, [64, 64]], [`blk.${i}.attn_k.weight`, type, [64, 32]], [`blk.${i}.attn_v.weight`, type, [64, 32]],
        [`blk.${i}.attn_output.weight`, type, [64, 64]], [`blk.${i}.ffn_gate.weight`, type, [64, 128]], [`blk.${i}.ffn_up.weight`, type, [64, 128]],
        [`blk.${i}.ffn_down.weight`, type, [128, 64]], [`blk.${i}.attn_norm.weight`, 'F32', [64]], [`blk.${i}.ffn_norm.weight`, 'F32', [64]],
      ]
      expect(r.tensors, type).toEqual([['token_embd.weight', type, [64, 32002]], ...layer(0), ...layer(1), ['output_norm.weight', 'F32', [64]], ['output.weight', type, [64, 32002]]])
      expect(exported[type].tensors.map((t) => t.name)).toEqual(r.tensors.map((t) => t[0]))
    }
  })

  it("permutes q and k rows as llama.cpp's converter does, and quantises them as gguf-py does", () => {
    expect(Object.fromEntries(types.map((t) => [t, read[t].sameAsGgufPy]))).toEqual({ F32: [true, true, true], F16: [true, true, true], Q8_0: [true, true, true], Q4_0: [true, true, true] })
  })

  it('files shrink with the type: F32 > F16 > Q8_0 > Q4_0', () => {
    const sizes = types.map((t) => exported[t].bytes)
    expect([...sizes].sort((a, b) => b - a)).toEqual(sizes)
    // token_embd + output (2 × 32,002 × 64 values) dominate: 4, 2, 34/32 and 18/32 bytes a value
    expect(sizes.map((s) => Math.round(s / 1e5) / 10)).toEqual([17.4, 9.1, 5.2, 3.1])
  })
})
