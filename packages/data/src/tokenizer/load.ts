import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Tokenizer } from '@huggingface/tokenizers'
import { addedTokens, fail } from '@tunekit/core'

/** The parts of `tokenizer.json` tunekit reads or edits; everything else is kept as it is. */
export interface TokenizerJson {
  added_tokens: AddedTokenJson[]
  model: { type: string; vocab: Record<string, number> | [string, number][]; unk_token?: string | null }
  [key: string]: unknown
}

export interface AddedTokenJson {
  id: number
  content: string
  single_word: boolean
  lstrip: boolean
  rstrip: boolean
  normalized: boolean
  special: boolean
}

export type TokenizerConfig = Record<string, unknown>

export interface TokenId {
  token: string
  id: number
}

/** Which tokens to add and which to use as eos / pad (the recipe's `tokens` group). */
export interface TokenChoices {
  chatml?: boolean
  add?: readonly string[]
  eos?: string | undefined
  pad?: string | undefined
  addBos?: boolean
}

/** A tokenizer with tunekit's added tokens, and the eos / pad / bos it trains with. */
export interface LoadedTokenizer {
  json: TokenizerJson
  config: TokenizerConfig
  tokenizer: Tokenizer
  /** Token ids of `text`, without bos/eos (the template places special tokens). */
  encode: (text: string) => number[]
  decode: (ids: readonly number[]) => string
  idOf: (token: string) => number | undefined
  eos: TokenId
  pad: TokenId
  bos: TokenId | undefined
  addBos: boolean
  /** Tokens tunekit added, with their new ids. */
  added: TokenId[]
  /** Contents of every added (atomic) token, longest first: the text splits at these. */
  atomic: string[]
  /** Highest id + 1 (the embedding rows the model needs). */
  vocabSize: number
}


/** A special-token field of tokenizer_config.json: a string or `{ content }`. */
const tokenField = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string' ? (v as { content: string }).content : undefined

/** Reads `tokenizer.json` and `tokenizer_config.json` from a folder and applies the token choices. */
export async function loadTokenizer(dir: string, choices: TokenChoices = {}, defaults: { eos?: string | undefined } = {}): Promise<LoadedTokenizer> {
  let json: TokenizerJson
  try {
    json = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')) as TokenizerJson
  } catch (e) {
    return fail('ModelNotFound', { path: 'model', value: dir, hintArgs: [dir] }, dir, [`${join(dir, 'tokenizer.json')} (${(e as Error).message})`])
  }
  let config: TokenizerConfig = {}
  try {
    config = JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8')) as TokenizerConfig
  } catch {
    // a tokenizer.json alone is enough; the config only names special tokens and the template
  }
  return tokenizerFromFiles(json, config, choices, defaults)
}

const vocabEntries = (json: TokenizerJson): Iterable<[string, number]> =>
  Array.isArray(json.model.vocab) ? json.model.vocab.map(([t], i) => [t, i] as [string, number]) : Object.entries(json.model.vocab)

/**
 * Builds the tokenizer from parsed files: adds ChatML / extra tokens as special tokens with new ids
 * (after the highest existing id: 32000, 32001 on Mistral), picks eos (`tokens.eos`, `<|im_end|>`
 * with chatml, the template's turn end, else the config's eos) and pad (`tokens.pad`, the config's
 * pad, unk, else eos), and records them in the config so transformers saves and loads the same.
 */
export function tokenizerFromFiles(
  source: TokenizerJson,
  sourceConfig: TokenizerConfig,
  choices: TokenChoices = {},
  defaults: { eos?: string | undefined } = {},
): LoadedTokenizer {
  const json = structuredClone(source)
  const config = structuredClone(sourceConfig)
  const ids = new Map<string, number>(vocabEntries(json))
  for (const t of json.added_tokens) ids.set(t.content, t.id)
  // a loop, not Math.max(...ids): spreading a 128k vocabulary overflows the argument limit
  let next = 0
  for (const id of ids.values()) if (id >= next) next = id + 1
  const added: TokenId[] = []
  const decoder = { ...((config.added_tokens_decoder as Record<string, unknown> | undefined) ?? {}) }
  const addSpecial = (token: string): void => {
    if (json.added_tokens.some((t) => t.content === token)) return
    const id = ids.get(token) ?? next++
    ids.set(token, id)
    json.added_tokens.push({ id, content: token, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })
    decoder[String(id)] = { content: token, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true }
    added.push({ token, id })
  }
  const wanted = addedTokens(choices)
  for (const token of wanted) addSpecial(token)

  const eosToken = choices.eos ?? (choices.chatml ? '<|im_end|>' : undefined) ?? (defaults.eos && ids.has(defaults.eos) ? defaults.eos : undefined) ?? tokenField(config.eos_token)
  if (!eosToken) return fail('EosNotSupervised', { path: 'tokens.eos' }, '(none)', 'tokenizer_config.json names no eos_token')
  if (choices.eos) addSpecial(choices.eos)
  const padToken = choices.pad ?? tokenField(config.pad_token) ?? tokenField(config.unk_token) ?? eosToken
  if (choices.pad) addSpecial(choices.pad)
  const bosToken = tokenField(config.bos_token)

  json.added_tokens.sort((a, b) => a.id - b.id)
  if (added.length > 0) {
    config.added_tokens_decoder = decoder
    const extra = new Set([...((config.additional_special_tokens as string[] | undefined) ?? []), ...added.map((t) => t.token)])
    config.additional_special_tokens = [...extra]
  }
  config.eos_token = eosToken
  config.pad_token = padToken
  const addBos = choices.addBos ?? (config.add_bos_token as boolean | undefined) ?? bosToken !== undefined
  config.add_bos_token = addBos && bosToken !== undefined

  const tokenizer = new Tokenizer(json, config)
  const idOf = (token: string): number | undefined => ids.get(token)
  const need = (token: string, path: string): TokenId => {
    const id = idOf(token)
    if (id === undefined) return fail('InvalidValue', { path, value: token }, [...json.added_tokens.map((t) => t.content)])
    return { token, id }
  }
  return {
    json,
    config,
    tokenizer,
    encode: (text) => (text === '' ? [] : tokenizer.encode(text, { add_special_tokens: false }).ids),
    decode: (list) => (list.length === 0 ? '' : tokenizer.decode(list as number[], { skip_special_tokens: false, clean_up_tokenization_spaces: false })),
    idOf,
    eos: need(eosToken, 'tokens.eos'),
    pad: need(padToken, 'tokens.pad'),
    bos: bosToken !== undefined && idOf(bosToken) !== undefined ? { token: bosToken, id: idOf(bosToken)! } : undefined,
    addBos: addBos && bosToken !== undefined,
    added,
    atomic: json.added_tokens.map((t) => t.content).sort((a, b) => b.length - a.length),
    vocabSize: next,
  }
}
