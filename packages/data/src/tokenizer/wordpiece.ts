// BERT's WordPiece tokenisation with character offsets, read from a tokenizer.json with a
// BertNormalizer, a BertPreTokenizer and a WordPiece model (what bert-base-uncased ships). The JS
// tokenizer (@huggingface/tokenizers) gives ids but no offsets, and SQuAD's labels need the span of
// each token in the context, so this follows Hugging Face `tokenizers` step by step, keeping for
// every normalised character the index of the character it came from:
//   BertNormalizer: drop \0, U+FFFD and control characters, whitespace → ' ', spaces around CJK
//     ideographs, strip accents (NFD minus marks) when lowercasing, lowercase;
//   BertPreTokenizer: split on whitespace, each punctuation character a word of its own;
//   WordPiece: greedy longest match, `##` before a word's later pieces, the whole word [UNK] when a
//     piece is missing or the word is longer than max_input_chars_per_word.
// Offsets are [start, end) in UTF-16 code units of the input (JavaScript string indices), equal to
// Python's code-point offsets for text in the Basic Multilingual Plane.
import { fail } from '@tunekit/core'

/** The tokenizer.json parts WordPiece encoding reads. */
export interface WordPieceJson {
  normalizer?: { type?: string; clean_text?: boolean; handle_chinese_chars?: boolean; strip_accents?: boolean | null; lowercase?: boolean } | null
  model: { type: string; vocab: Record<string, number> | [string, number][]; unk_token?: string | null; continuing_subword_prefix?: string; max_input_chars_per_word?: number }
}

/** One token: its id and its [start, end) span in the text it came from. */
export interface OffsetToken {
  id: number
  start: number
  end: number
  /** Index of the pre-tokenizer word the token is part of (tokenizers' `word_ids()`). */
  word: number
}

/** A question/context pair as BERT reads it: `[CLS] question [SEP] context [SEP]`. */
export interface EncodedPair {
  ids: number[]
  /** 0 for [CLS], the question and the first [SEP]; 1 for the context and the last [SEP]. */
  typeIds: number[]
  /** [start, end) in the question or the context (see `sequenceIds`); [0, 0] for special tokens. */
  offsets: Array<[number, number]>
  /** 0: question, 1: context, null: special token (transformers' `sequence_ids()`). */
  sequenceIds: Array<0 | 1 | null>
}

export interface WordPieceEncoder {
  /** Tokens of one text, without special tokens. */
  encode(text: string): OffsetToken[]
  encodePair(question: string, context: string): EncodedPair
  cls: number
  sep: number
  pad: number
}

// Hugging Face tokenizers' is_chinese_char: the CJK Unified Ideographs blocks and their extensions.
const CJK: ReadonlyArray<readonly [number, number]> = [
  [0x4e00, 0x9fff], [0x3400, 0x4dbf], [0x20000, 0x2a6df], [0x2a700, 0x2b73f],
  [0x2b740, 0x2b81f], [0x2b920, 0x2ceaf], [0xf900, 0xfaff], [0x2f800, 0x2fa1f],
]
const isChinese = (cp: number): boolean => CJK.some(([a, b]) => cp >= a && cp <= b)
// tokenizers: is_control is Unicode "Other" (Cc, Cf, Cs, Co, Cn) except \t \n \r, which are whitespace.
const isControl = (ch: string): boolean => ch !== '\t' && ch !== '\n' && ch !== '\r' && /\p{C}/u.test(ch)
const isWhitespace = (ch: string): boolean => /\s/u.test(ch)
// tokenizers: is_bert_punc is ASCII punctuation (which holds $ + < = > ^ ` | ~) or Unicode P*.
const isPunctuation = (ch: string): boolean => /[!-/:-@[-`{-~]/.test(ch) || /\p{P}/u.test(ch)

/** Normalised characters, each with the [start, end) of the input character it came from. */
export interface AlignedChar {
  ch: string
  start: number
  end: number
}

/** Runs the BertNormalizer over `text`, one input character (code point) at a time. */
export function bertNormalize(text: string, n: WordPieceJson['normalizer']): AlignedChar[] {
  const cleanText = n?.clean_text ?? true
  const chinese = n?.handle_chinese_chars ?? true
  const lowercase = n?.lowercase ?? true
  const stripAccents = n?.strip_accents ?? lowercase // null: follow lowercase, as BertNormalizer does
  const out: AlignedChar[] = []
  let start = 0
  for (const raw of text) {
    const end = start + raw.length
    const cp = raw.codePointAt(0)!
    let chars: string[] = [raw]
    if (cleanText) {
      if (cp === 0 || cp === 0xfffd || isControl(raw)) chars = []
      else if (isWhitespace(raw)) chars = [' ']
    }
    if (chinese && isChinese(cp)) chars = [' ', raw, ' ']
    if (stripAccents) chars = chars.flatMap((c) => [...c.normalize('NFD')].filter((d) => !/\p{Mn}/u.test(d)))
    if (lowercase) chars = chars.flatMap((c) => [...c.toLowerCase()])
    for (const ch of chars) out.push({ ch, start, end })
    start = end
  }
  return out
}

/** Splits normalised characters into words the way BertPreTokenizer does. */
export function bertPreTokenize(chars: readonly AlignedChar[]): AlignedChar[][] {
  const words: AlignedChar[][] = []
  let word: AlignedChar[] = []
  const flush = () => {
    if (word.length > 0) words.push(word)
    word = []
  }
  for (const c of chars) {
    if (isWhitespace(c.ch)) flush()
    else if (isPunctuation(c.ch)) {
      flush()
      words.push([c])
    } else word.push(c)
  }
  flush()
  return words
}

const vocabMap = (vocab: WordPieceJson['model']['vocab']): Map<string, number> =>
  new Map(Array.isArray(vocab) ? vocab : Object.entries(vocab))

/** A WordPiece encoder for a tokenizer.json object; `file` names it in errors. */
export function wordPieceEncoder(json: WordPieceJson, file: string): WordPieceEncoder {
  if (json.model?.type !== 'WordPiece') {
    fail('MalformedTokenizer', { path: `${file}: model.type`, value: json.model?.type }, file, `model.type is ${JSON.stringify(json.model?.type)}, not "WordPiece": BERT reads a WordPiece vocabulary`)
  }
  const vocab = vocabMap(json.model.vocab)
  const prefix = json.model.continuing_subword_prefix ?? '##'
  const maxChars = json.model.max_input_chars_per_word ?? 100
  const idOf = (token: string): number => vocab.get(token) ?? fail('MalformedTokenizer', { path: `${file}: model.vocab` }, file, `the vocabulary has no ${JSON.stringify(token)}, which BERT's inputs need`)
  const unk = idOf(json.model.unk_token ?? '[UNK]')
  const pieces = (word: AlignedChar[], index: number): OffsetToken[] => {
    const whole: OffsetToken = { id: unk, start: word[0]!.start, end: word.at(-1)!.end, word: index }
    if (word.length > maxChars) return [whole]
    const out: OffsetToken[] = []
    for (let begin = 0; begin < word.length;) {
      let end = word.length
      let id: number | undefined
      for (; end > begin; end--) {
        const piece = word.slice(begin, end).map((c) => c.ch).join('')
        id = vocab.get(begin > 0 ? prefix + piece : piece)
        if (id !== undefined) break
      }
      if (id === undefined) return [whole]
      out.push({ id, start: word[begin]!.start, end: word[end - 1]!.end, word: index })
      begin = end
    }
    return out
  }
  const encode = (text: string): OffsetToken[] => bertPreTokenize(bertNormalize(text, json.normalizer)).flatMap(pieces)
  const cls = idOf('[CLS]')
  const sep = idOf('[SEP]')
  return {
    encode,
    cls,
    sep,
    pad: idOf('[PAD]'),
    encodePair: (question, context) => {
      const q = encode(question)
      const c = encode(context)
      const special = (id: number, type: 0 | 1) => ({ id, type, offset: [0, 0] as [number, number], seq: null })
      const rows = [
        special(cls, 0),
        ...q.map((t) => ({ id: t.id, type: 0 as const, offset: [t.start, t.end] as [number, number], seq: 0 as const })),
        special(sep, 0),
        ...c.map((t) => ({ id: t.id, type: 1 as const, offset: [t.start, t.end] as [number, number], seq: 1 as const })),
        special(sep, 1),
      ]
      return { ids: rows.map((r) => r.id), typeIds: rows.map((r) => r.type), offsets: rows.map((r) => r.offset), sequenceIds: rows.map((r) => r.seq) }
    },
  }
}
