import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TunekitError } from '@tunekit/core'
import type { Conversation, Document, TokenRecord } from '../formats/conversation.ts'
import { builtinTemplates, templateMarkers, turnEnd, type BuiltinTemplate } from '../templates/builtins.ts'
import { chatTemplate } from '../templates/render.ts'
import { imageExpander } from '../images/image-expander.ts'
import { savedChatTemplate } from '../templates/saved-template.ts'
import { loadTokenizer, type LoadedTokenizer, type TokenChoices } from '../tokenizer/load.ts'
import { saveTokenizer } from '../tokenizer/save.ts'
import { shardWriter, type ShardIndex, type ShardWriter } from '../shards/shards.ts'
import { readJsonLines } from '../util/lines.ts'
import { writeFileAtomic, writeJsonAtomic, type Json } from '@tunekit/core'
import { checkRows, formatChecks } from './checks.ts'
import { tokenizeConversations, type MaskMode, type TokenizeReport, type Truncation } from './tokenize.ts'
import { tokenizeDocuments } from './tokenize-text.ts'
import { tokenizeIds } from './tokenize-ids.ts'
import { trainableTokenIds } from './trainable-tokens.ts'

export type TemplateChoice = BuiltinTemplate | 'model' | { jinja: string }

export interface RunTokenizeOptions {
  template: TemplateChoice
  maxLength: number
  truncation: Truncation
  mask: MaskMode
  onError: 'fail' | 'skip'
  tokens: TokenChoices
  /** `lora.trainableTokens`, resolved to ids into index.json (`trainableTokenIds`). @defaultValue false */
  trainableTokens?: boolean | readonly string[]
  /** Content key written into index.json. */
  key?: string
  checkRoundTrip?: boolean
  /** Which rule chose the template (graph.json's `template.rule`): the checks table and TK308 say it. */
  templateRule?: string
}

/** tokenizer_config.json's chat_template: a string, or a list of `{ name, template }` (the `default` one). */
export const modelChatTemplate = (value: unknown): string | undefined => {
  if (typeof value === 'string') return value
  if (Array.isArray(value)) {
    const named = value as { name?: string; template?: string }[]
    return (named.find((t) => t.name === 'default') ?? named[0])?.template
  }
  return undefined
}

const isBuiltin = (t: TemplateChoice): t is BuiltinTemplate => typeof t === 'string' && t in builtinTemplates

/**
 * The tokenize node's work: conversations → token shards in `outDir`, plus `tokenizer/` (with the
 * added tokens and the chat template), `chat_template.jinja` and `report.json`. Throws the fatal
 * checks together; the report is still written next to nothing (the artifact is not kept).
 */
export async function runTokenize(
  conversationsPath: string | AsyncIterable<Conversation> | Iterable<Conversation>,
  modelDir: string,
  outDir: string,
  opts: RunTokenizeOptions,
): Promise<{ report: TokenizeReport; index: ShardIndex; table: string }> {
  await mkdir(outDir, { recursive: true })
  const tok = await loadTokenizer(modelDir, opts.tokens, { eos: isBuiltin(opts.template) ? turnEnd[opts.template] : undefined })
  const template = chatTemplate(opts.template, {
    bosToken: tok.bos?.token ?? '',
    eosToken: tok.eos.token,
    modelTemplate: modelChatTemplate(tok.config.chat_template),
  })
  const writer = await shardWriter(outDir)
  const conversations = typeof conversationsPath === 'string' ? readJsonLines<Conversation>(conversationsPath) : conversationsPath
  // Which conversation each sample came from: the score node traces held-out samples back with it.
  const conversationIndices: number[] = []
  let report: TokenizeReport
  try {
    report = await tokenizeConversations(conversations, tok, {
      template,
      maxLength: opts.maxLength,
      truncation: opts.truncation,
      mask: opts.mask,
      onError: opts.onError,
      markers: isBuiltin(opts.template) ? templateMarkers[opts.template] : [],
      checkRoundTrip: opts.checkRoundTrip ?? true,
      images: imageExpander(modelDir, tok),
      ...(opts.templateRule !== undefined ? { templateRule: opts.templateRule } : {}),
    }, (s) => {
      conversationIndices.push(s.conversation)
      return writer.add(s.ids, s.mask, s.images)
    })
  } catch (e) {
    await writer.abort()
    if (e instanceof TunekitError && 'report' in e) await writeJsonAtomic(join(outDir, 'report.json'), (e as TunekitError & { report: unknown }).report)
    throw e
  }
  return finishTokenize(outDir, tok, writer, report, opts, savedChatTemplate(template, tok), { conversationIndices })
}

/** Index (with the trainable token ids), tokenizer, chat template and report: the artifact's other files. */
async function finishTokenize(
  outDir: string,
  tok: LoadedTokenizer,
  writer: ShardWriter,
  report: TokenizeReport,
  opts: Pick<RunTokenizeOptions, 'key' | 'maxLength' | 'tokens' | 'trainableTokens'>,
  jinja: string | undefined,
  extraStats: { [key: string]: Json } = {},
): Promise<{ report: TokenizeReport; index: ShardIndex; table: string }> {
  const stats = {
    ...extraStats,
    samples: report.samples, tokens: report.tokens, trainedTokens: report.trainedTokens, longest: report.longest,
    truncated: report.truncated, dropped: report.dropped, split: report.split, template: report.template, mask: report.maskMode, maxLength: opts.maxLength,
  }
  const trainable = trainableTokenIds(opts.trainableTokens ?? false, { chatml: opts.tokens.chatml ?? false, add: opts.tokens.add ?? [] }, tok.idOf)
  const index = await writer.close({
    ...(opts.key ? { key: opts.key } : {}), stats, eosId: tok.eos.id, padId: tok.pad.id, bosId: tok.addBos && tok.bos ? tok.bos.id : null, trainableTokenIds: trainable,
  })
  await saveTokenizer(tok, join(outDir, 'tokenizer'), jinja)
  if (jinja !== undefined) await writeFileAtomic(join(outDir, 'chat_template.jinja'), jinja)
  await writeJsonAtomic(join(outDir, 'report.json'), { ...report, trainableTokenIds: trainable })
  return { report, index, table: formatChecks(checkRows(report)) }
}

/** Options of {@link runTokenizeText}. */
export type RunTokenizeTextOptions = Pick<RunTokenizeOptions, 'maxLength' | 'truncation' | 'tokens' | 'trainableTokens' | 'key'>

/**
 * The tokenize node for raw text (the pretrain stage): `documents.jsonl` → token shards with every
 * token a label and eos closing each document, plus `tokenizer/` and `report.json`. No chat template.
 */
export async function runTokenizeText(
  documentsPath: string | AsyncIterable<Document> | Iterable<Document>,
  modelDir: string,
  outDir: string,
  opts: RunTokenizeTextOptions,
): Promise<{ report: TokenizeReport; index: ShardIndex; table: string }> {
  await mkdir(outDir, { recursive: true })
  const tok = await loadTokenizer(modelDir, opts.tokens)
  const writer = await shardWriter(outDir)
  const documents = typeof documentsPath === 'string' ? readJsonLines<Document>(documentsPath) : documentsPath
  let report: TokenizeReport
  try {
    report = await tokenizeDocuments(documents, tok, { maxLength: opts.maxLength, truncation: opts.truncation }, (s) => writer.add(s.ids, s.mask))
  } catch (e) {
    if (e instanceof TunekitError && 'report' in e) await writeJsonAtomic(join(outDir, 'report.json'), (e as TunekitError & { report: unknown }).report)
    throw e
  }
  return finishTokenize(outDir, tok, writer, report, opts, undefined)
}

/** Options of {@link runTokenizeIds}. */
export type RunTokenizeIdsOptions = RunTokenizeTextOptions & Pick<RunTokenizeOptions, 'onError'>

/**
 * The tokenize node for pre-tokenized records (data.format 'tokens'): `tokens.jsonl` → token shards
 * as they are (no template, no bos or eos added), every id checked against the model's vocabulary,
 * plus `tokenizer/` and `report.json`. No chat template.
 */
export async function runTokenizeIds(
  tokensPath: string | AsyncIterable<TokenRecord> | Iterable<TokenRecord>,
  modelDir: string,
  outDir: string,
  opts: RunTokenizeIdsOptions,
): Promise<{ report: TokenizeReport; index: ShardIndex; table: string }> {
  await mkdir(outDir, { recursive: true })
  const tok = await loadTokenizer(modelDir, opts.tokens)
  // The embedding may have more rows than the tokenizer has ids (vocab_size padded to a multiple).
  // (a tokenizer folder alone, without config.json, has only the tokenizer's ids)
  const config = await readFile(join(modelDir, 'config.json'), 'utf8').then((t) => JSON.parse(t) as { vocab_size?: unknown }, () => ({ vocab_size: undefined }))
  const vocabSize = Math.max(tok.vocabSize, typeof config.vocab_size === 'number' ? config.vocab_size : 0)
  const writer = await shardWriter(outDir)
  const records = typeof tokensPath === 'string' ? readJsonLines<TokenRecord>(tokensPath) : tokensPath
  let report: TokenizeReport
  try {
    report = await tokenizeIds(records, { maxLength: opts.maxLength, truncation: opts.truncation, onError: opts.onError, vocabSize, eos: tok.eos, pad: tok.pad }, (s) => writer.add(s.ids, s.mask))
  } catch (e) {
    await writer.abort()
    throw e
  }
  return finishTokenize(outDir, tok, writer, report, opts, undefined)
}
