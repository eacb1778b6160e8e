// A tiny Mistral-shaped model as tiny-chat's merged folder looks: 2 layers, hidden 64, the real
// Mistral tokenizer with ChatML's tokens added (32,002 rows, <|im_end|> as eos) and the ChatML
// chat template. Random weights with initializer range 0.2 (tiny-chat starts from 0.02): attention
// scores and logits are then far from uniform, so a wrong rope layout or a swapped tensor changes
// the greedy tokens (at 0.02 attention is nearly uniform and hides such faults).
import { knownCheckpoints, type ModelConfig } from '@tunekit/core'
import { builtinTemplates, loadTokenizer } from '@tunekit/data'
import { tokenizerFilesFrom, writeModelFolder, randomWeights } from '@tunekit/hf'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const tmp = (): Promise<string> => mkdtemp(join(tmpdir(), 'tk-gguf-'))

export interface TinyChatModel {
  dir: string
  config: ModelConfig
}

/** Writes the tiny ChatML Mistral model into a new temp folder. */
export async function tinyChatModel(opts: { family?: 'mistral' | 'llama'; seed?: number; initializerRange?: number } = {}): Promise<TinyChatModel> {
  const family = opts.family ?? 'mistral'
  const tokDir = await tmp()
  for (const [name, data] of Object.entries(await tokenizerFilesFrom('mistral', 2048))) await writeFile(join(tokDir, name), data)
  const tok = await loadTokenizer(tokDir, { chatml: true })
  const config: ModelConfig = { ...knownCheckpoints['tunekit/tiny-mistral']!.config, modelType: family, vocabSize: tok.vocabSize, bosTokenId: tok.bos!.id, eosTokenId: tok.eos.id }
  const dir = await tmp()
  await writeModelFolder(dir, {
    family,
    config,
    tensors: randomWeights(family, config, opts.seed ?? 0, { initializerRange: opts.initializerRange ?? 0.2 }),
    tokenizerFiles: { 'tokenizer.json': JSON.stringify(tok.json), 'tokenizer_config.json': `${JSON.stringify(tok.config, null, 2)}\n` },
    chatTemplate: builtinTemplates.chatml,
  })
  return { dir, config }
}

// GPT-2's reversible byte → printable character table, which byte-level BPE vocabularies use.
function byteToUnicode(): string[] {
  const printable = (b: number): boolean => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)
  let next = 256
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : next++))
}

/** The split regex of Qwen2's tokenizer.json (llama.cpp's `qwen2` pre-tokenizer). */
export const QWEN2_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

/**
 * A Qwen2-style byte-level BPE tokenizer.json: the 256 byte symbols, `merges` pairs learned greedily
 * from `corpus` (most frequent pair first, ties by text), then <|endoftext|>, <|im_start|>, <|im_end|>.
 */
export function byteLevelTokenizer(corpus: string, merges: number): Record<string, unknown> {
  const table = byteToUnicode()
  const vocab: Record<string, number> = {}
  table.forEach((c, b) => (vocab[c] = b))
  // words as the split regex would cut them (close enough for learning merges), as byte symbols
  let words = (corpus.match(/ ?\p{L}+| ?\p{N}| ?[^\s\p{L}\p{N}]+|\s+/gu) ?? []).map((w) => [...Buffer.from(w, 'utf8')].map((b) => table[b]!))
  const learned: string[] = []
  for (let m = 0; m < merges; m++) {
    const counts = new Map<string, number>()
    for (const w of words) for (let i = 0; i + 1 < w.length; i++) counts.set(`${w[i]} ${w[i + 1]}`, (counts.get(`${w[i]} ${w[i + 1]}`) ?? 0) + 1)
    const best = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]
    if (!best) break
    const [left, right] = best[0].split(' ') as [string, string]
    learned.push(best[0])
    vocab[left + right] = Object.keys(vocab).length
    words = words.map((w) => {
      const out: string[] = []
      for (let i = 0; i < w.length; i++) {
        if (w[i] === left && w[i + 1] === right) {
          out.push(left + right)
          i++
        } else out.push(w[i]!)
      }
      return out
    })
  }
  const size = Object.keys(vocab).length
  const added = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'].map((content, i) => ({ id: size + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }))
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false }
  return {
    version: '1.0', truncation: null, padding: null, added_tokens: added, normalizer: null,
    pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: QWEN2_SPLIT }, behavior: 'Isolated', invert: false }, byteLevel] },
    post_processor: null, decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges: learned },
  }
}

/**
 * A tiny Qwen2 model (attention biases, tied embeddings, rope theta 1e6) with a byte-level BPE
 * tokenizer learned from `corpus`, ChatML's template and <|im_end|> as eos. Weights from N(0, 0.2)
 * as tinyChatModel's; biases are non-zero too, so their names and layout are checked.
 */
export async function tinyQwen2Model(corpus: string, opts: { seed?: number } = {}): Promise<TinyChatModel> {
  const json = byteLevelTokenizer(corpus, 200)
  const added = json.added_tokens as Array<{ id: number }>
  const vocabSize = added.at(-1)!.id + 1
  const imEnd = added.at(-1)!.id
  const config: ModelConfig = {
    ...knownCheckpoints['tunekit/tiny-mistral']!.config,
    modelType: 'qwen2', vocabSize, attentionBias: true, tieWordEmbeddings: true, ropeTheta: 1_000_000, slidingWindow: null, bosTokenId: null, eosTokenId: imEnd,
  }
  const seed = opts.seed ?? 0
  const tensors = randomWeights('qwen2', config, seed, { initializerRange: 0.2 }).map(([name, t]): [string, typeof t] =>
    name.endsWith('.bias') ? [name, { ...t, make: () => Float32Array.from({ length: t.shape[0]! }, (_, i) => 0.05 * Math.sin(i * 1.7 + name.length)) }] : [name, t],
  )
  const dir = await tmp()
  await writeModelFolder(dir, {
    family: 'qwen2',
    config,
    tensors,
    tokenizerFiles: {
      'tokenizer.json': JSON.stringify(json),
      'tokenizer_config.json': `${JSON.stringify({ bos_token: null, eos_token: '<|im_end|>', pad_token: '<|endoftext|>', add_bos_token: false, model_max_length: 2048, tokenizer_class: 'Qwen2Tokenizer' }, null, 2)}\n`,
    },
    chatTemplate: builtinTemplates.chatml,
  })
  return { dir, config }
}
