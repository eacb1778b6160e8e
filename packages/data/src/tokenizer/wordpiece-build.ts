// A small BERT-style tokenizer built from a corpus, for tests and demos that need an encoder
// tokenizer without downloading one. It has bert-base-uncased's shape — the same special tokens,
// BertNormalizer (lowercase, accents stripped), BertPreTokenizer, WordPiece with `##`, and a
// TemplateProcessing post-processor writing `[CLS] A [SEP]` / `[CLS] A [SEP] B [SEP]` with token
// types 0 / 1 — so Hugging Face `tokenizers`, transformers and @huggingface/tokenizers all load it.
// The vocabulary: the special tokens, every character of the corpus alone and after `##` (so any
// word of those characters tokenises without [UNK]), then the corpus's words, most frequent first.
import { join } from 'node:path'
import { writeFileAtomic } from '@tunekit/core'
import { bertNormalize, bertPreTokenize } from './wordpiece.ts'

/** bert-base-uncased's special tokens, in the order their ids are given here (0 … 4). */
export const bertSpecialTokens = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const

export interface WordPieceBuildOptions {
  /** Largest vocabulary; words past it are left to their pieces. @defaultValue 1000 */
  vocabSize?: number
  /** tokenizer_config.json `model_max_length`. @defaultValue 512 */
  modelMaxLength?: number
}

const normalizer = { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true }

/** The vocabulary of `texts`: specials, characters, `##` characters, then words by frequency (ties by first use). */
function vocabulary(texts: readonly string[], size: number): string[] {
  const counts = new Map<string, number>()
  const chars = new Set<string>()
  for (const text of texts) {
    for (const word of bertPreTokenize(bertNormalize(text, normalizer))) {
      const w = word.map((c) => c.ch).join('')
      counts.set(w, (counts.get(w) ?? 0) + 1)
      for (const c of word) chars.add(c.ch)
    }
  }
  const charList = [...chars].sort()
  const base = [...bertSpecialTokens, ...charList, ...charList.map((c) => `##${c}`)]
  const taken = new Set(base)
  const words = [...counts.entries()].filter(([w]) => !taken.has(w)).sort((a, b) => b[1] - a[1]).map(([w]) => w) // stable: ties keep first use
  return [...base, ...words].slice(0, Math.max(size, base.length))
}

/** tokenizer.json and tokenizer_config.json of a WordPiece tokenizer built from `texts`. */
export function buildWordPieceTokenizer(texts: readonly string[], o: WordPieceBuildOptions = {}): { json: Record<string, unknown>; config: Record<string, unknown> } {
  const tokens = vocabulary(texts, o.vocabSize ?? 1000)
  const vocab = Object.fromEntries(tokens.map((t, id) => [t, id]))
  const idOf = (t: string) => vocab[t]!
  const special = (t: string, typeId: number) => ({ SpecialToken: { id: t, type_id: typeId } })
  const sequence = (s: 'A' | 'B', typeId: number) => ({ Sequence: { id: s, type_id: typeId } })
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: bertSpecialTokens.map((t) => ({ id: idOf(t), content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer,
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0)],
      pair: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0), sequence('B', 1), special('[SEP]', 1)],
      special_tokens: Object.fromEntries(['[CLS]', '[SEP]'].map((t) => [t, { id: t, ids: [idOf(t)], tokens: [t] }])),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  }
  const config = {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: true,
    model_max_length: o.modelMaxLength ?? 512,
    cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]', mask_token: '[MASK]',
    clean_up_tokenization_spaces: true,
  }
  return { json, config }
}

/** Writes tokenizer.json, tokenizer_config.json and special_tokens_map.json into `dir`, each atomically. */
export async function writeWordPieceTokenizer(dir: string, texts: readonly string[], o: WordPieceBuildOptions = {}): Promise<void> {
  const { json, config } = buildWordPieceTokenizer(texts, o)
  const special = { cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]', mask_token: '[MASK]' }
  await writeFileAtomic(join(dir, 'tokenizer.json'), JSON.stringify(json))
  await writeFileAtomic(join(dir, 'tokenizer_config.json'), `${JSON.stringify(config, null, 2)}\n`)
  await writeFileAtomic(join(dir, 'special_tokens_map.json'), `${JSON.stringify(special, null, 2)}\n`)
}
