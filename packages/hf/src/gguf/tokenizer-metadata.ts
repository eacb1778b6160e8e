// The `tokenizer.*` metadata of a GGUF file, from a Hugging Face tokenizer.json and
// tokenizer_config.json, in the two forms llama.cpp reads:
//
//   `llama` (SentencePiece BPE with byte fallback: Llama 2, Mistral): tokens, scores, token types.
//     llama.cpp merges the adjacent pair whose joined text has the highest score, so a token's score
//     is minus the rank of the first merge that makes it, which orders merges as tokenizer.json does.
//   `gpt2` (byte-level BPE: Qwen2, Llama 3): tokens, token types and the merges, with the
//     pre-tokenizer named by `tokenizer.ggml.pre` (llama.cpp holds each one's split regex).
//
// Both get the special token ids, add_bos / add_eos and the chat template.
import { fail } from '@tunekit/core'
import type { GgufValue } from './writer.ts'

/** llama.cpp's token types (llama_token_type). */
export const tokenTypes = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const

/** The parts of tokenizer.json read here. */
export interface HfTokenizerJson {
  model: { type: string; vocab: Record<string, number>; merges?: ReadonlyArray<string | readonly [string, string]>; byte_fallback?: boolean; unk_token?: string | null }
  added_tokens?: ReadonlyArray<{ id: number; content: string; special: boolean }>
  normalizer?: unknown
  pre_tokenizer?: unknown
}

export interface TokenizerMetadataInput {
  json: HfTokenizerJson
  /** tokenizer_config.json. */
  config: Record<string, unknown>
  /** Rows of the embedding: the token list is padded to this many with unused `[PAD<id>]` tokens. */
  vocabSize: number
  /** config.json's bos / eos ids, used when tokenizer_config.json names none. */
  bosTokenId: number | null
  eosTokenId: number | null
  chatTemplate: string | undefined
  /** Where the tokenizer came from, for errors. */
  path: string
}

// The split regexes of the byte-level pre-tokenizers llama.cpp knows, by its name for them.
const preTokenizers: Record<string, string> = {
  qwen2: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  'llama-bpe': "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
}

const tokenField = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string' ? (v as { content: string }).content : undefined

/** Every `type` and `pattern.Regex` inside a normalizer / pre-tokenizer tree. */
function walk(node: unknown, visit: (n: Record<string, unknown>) => void): void {
  if (Array.isArray(node)) node.forEach((n) => walk(n, visit))
  else if (typeof node === 'object' && node !== null) {
    visit(node as Record<string, unknown>)
    for (const v of Object.values(node)) walk(v, visit)
  }
}

/** `llama` or `gpt2`, from the tokenizer's model and pre-tokenizer; anything else is refused. */
export function tokenizerKind(json: HfTokenizerJson, path: string): 'llama' | 'gpt2' {
  let byteLevel = false
  walk(json.pre_tokenizer, (n) => (byteLevel ||= n.type === 'ByteLevel'))
  if (json.model.type === 'BPE' && json.model.byte_fallback === true && !byteLevel) return 'llama'
  if (json.model.type === 'BPE' && byteLevel) return 'gpt2'
  return fail('GgufTokenizerUnsupported', { path, value: json.model.type }, path, `a ${json.model.type} model${json.model.byte_fallback ? ' with byte fallback' : ''}${byteLevel ? ' with a byte-level pre-tokenizer' : ''}`)
}

/** llama.cpp's name of a byte-level pre-tokenizer, from its split regex. */
function preTokenizerName(json: HfTokenizerJson, path: string): string {
  const regexes: string[] = []
  let plainByteLevel = false
  walk(json.pre_tokenizer, (n) => {
    const pattern = n.pattern as { Regex?: unknown } | undefined
    if (n.type === 'Split' && typeof pattern?.Regex === 'string') regexes.push(pattern.Regex)
    if (n.type === 'ByteLevel' && n.use_regex !== false) plainByteLevel = true
  })
  if (regexes.length === 0 && plainByteLevel) return 'gpt-2'
  const name = Object.entries(preTokenizers).find(([, re]) => regexes.length === 1 && regexes[0] === re)?.[0]
  return name ?? fail('GgufTokenizerUnsupported', { path, value: regexes }, path, `a byte-level BPE whose split regex ${JSON.stringify(regexes[0] ?? '(none)')} is none of llama.cpp's (${[...Object.keys(preTokenizers), 'gpt-2'].join(', ')})`)
}

/** Whether SentencePiece-style normalisation puts "▁" before the text (llama.cpp's add_space_prefix). */
function addsSpacePrefix(json: HfTokenizerJson): boolean {
  let prefix = false
  walk(json.normalizer, (n) => (prefix ||= n.type === 'Prepend' && n.prepend === '▁'))
  walk(json.pre_tokenizer, (n) => (prefix ||= n.type === 'Metaspace' && n.prepend_scheme !== 'never' && n.add_prefix_space !== false))
  return prefix
}

const mergeText = (m: string | readonly [string, string]): string => (typeof m === 'string' ? m : `${m[0]} ${m[1]}`)

/** The `tokenizer.*` metadata entries, in the converter's order. */
export function tokenizerMetadata(input: TokenizerMetadataInput): Array<[string, GgufValue]> {
  const { json, config, vocabSize, path } = input
  const kind = tokenizerKind(json, path)
  const added = new Map((json.added_tokens ?? []).map((t) => [t.id, t]))
  const byId = new Map<number, string>()
  for (const [token, id] of Object.entries(json.model.vocab)) byId.set(id, token)
  for (const t of added.values()) byId.set(t.id, t.content)
  let highest = -1 // a loop, not Math.max(...ids): spreading a 150k vocabulary overflows the argument limit
  for (const id of byId.keys()) highest = Math.max(highest, id)
  if (highest >= vocabSize) {
    fail('GgufVocabTooLarge', { path, value: highest + 1 }, highest + 1, vocabSize)
  }
  const idOf = (token: string | undefined): number | undefined => {
    if (token === undefined) return undefined
    for (const t of added.values()) if (t.content === token) return t.id
    return json.model.vocab[token]
  }
  const unkId = idOf(tokenField(config.unk_token) ?? json.model.unk_token ?? undefined)

  // Scores (llama only): minus the rank of the first merge that makes each token.
  const firstMerge = new Map<string, number>()
  ;(json.model.merges ?? []).forEach((m, rank) => {
    const joined = mergeText(m).replace(' ', '')
    if (!firstMerge.has(joined)) firstMerge.set(joined, rank)
  })

  const tokens: string[] = []
  const scores: number[] = []
  const types: number[] = []
  for (let id = 0; id < vocabSize; id++) {
    const token = byId.get(id)
    const a = added.get(id)
    let type: number
    if (token === undefined) type = tokenTypes.unused
    else if (id === unkId) type = tokenTypes.unknown
    else if (a) type = a.special ? tokenTypes.control : tokenTypes.userDefined
    else if (kind === 'llama' && /^<0x[0-9A-Fa-f]{2}>$/.test(token)) type = tokenTypes.byte
    else type = tokenTypes.normal
    tokens.push(token ?? `[PAD${id}]`)
    types.push(type)
    scores.push(type === tokenTypes.normal ? -(firstMerge.get(token!) ?? firstMerge.size + id) : 0)
  }

  const special = (field: string, fallback: number | null): number | undefined => idOf(tokenField(config[field])) ?? fallback ?? undefined
  const bos = special('bos_token', input.bosTokenId)
  const eos = special('eos_token', input.eosTokenId)
  const pad = special('pad_token', null)
  const entries: Array<[string, GgufValue]> = [
    ['tokenizer.ggml.model', { type: 'string', value: kind }],
    ['tokenizer.ggml.pre', { type: 'string', value: kind === 'llama' ? 'default' : preTokenizerName(json, path) }],
    ['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', value: tokens }],
  ]
  if (kind === 'llama') entries.push(['tokenizer.ggml.scores', { type: 'array', itemType: 'f32', value: scores }])
  entries.push(['tokenizer.ggml.token_type', { type: 'array', itemType: 'i32', value: types }])
  if (kind === 'gpt2') entries.push(['tokenizer.ggml.merges', { type: 'array', itemType: 'string', value: (json.model.merges ?? []).map(mergeText) }])
  const id = (key: string, v: number | undefined): void => {
    if (v !== undefined) entries.push([`tokenizer.ggml.${key}`, { type: 'u32', value: v }])
  }
  id('bos_token_id', bos)
  id('eos_token_id', eos)
  id('unknown_token_id', unkId)
  id('padding_token_id', pad)
  // transformers' defaults when tokenizer_config.json is silent: llama adds bos, byte-level BPE does not
  const addBos = typeof config.add_bos_token === 'boolean' ? config.add_bos_token : kind === 'llama'
  const addEos = typeof config.add_eos_token === 'boolean' ? config.add_eos_token : false
  entries.push(['tokenizer.ggml.add_bos_token', { type: 'bool', value: addBos && bos !== undefined }])
  entries.push(['tokenizer.ggml.add_eos_token', { type: 'bool', value: addEos && eos !== undefined }])
  if (kind === 'llama') entries.push(['tokenizer.ggml.add_space_prefix', { type: 'bool', value: addsSpacePrefix(json) }])
  if (input.chatTemplate !== undefined) entries.push(['tokenizer.chat_template', { type: 'string', value: input.chatTemplate }])
  return entries
}
