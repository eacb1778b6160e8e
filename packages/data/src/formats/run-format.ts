import { mkdir, rm } from 'node:fs/promises'
import { dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { fail, type Format } from '@tunekit/core'
import { jsonLinesWriter, readJsonLines } from '../util/lines.ts'
import { readFile } from 'node:fs/promises'
import { writeJsonAtomic } from '@tunekit/core'
import type { RecordLine, SourceOrigin, SourceSummary } from '../sources/run-source.ts'
import { RecordProblem, type Conversation, type Document, type Preference, type TokenRecord, type Unpaired } from './conversation.ts'
import { loadDatasetInfo } from './dataset-info.ts'
import { resolveImages } from './images.ts'
import { parseAlpaca, parseChatmlText, parseOpenai, parseSharegpt, parseText, type Parsed } from './parsers.ts'
import { parseTokens } from './tokens.ts'

import type { DataRecord } from './parsers.ts'

/** Builds the record parser for a recipe's `data.format`. */
export async function recordParser(format: Format, baseDir: string): Promise<(record: DataRecord) => Parsed> {
  if (typeof format === 'string') {
    switch (format) {
      case 'chatml-text':
        return (r) => parseChatmlText(r)
      case 'alpaca':
        return (r) => parseAlpaca(r)
      case 'sharegpt':
        return (r) => parseSharegpt(r)
      case 'openai':
        return (r) => parseOpenai(r)
      case 'text':
        return (r) => parseText(r)
      case 'tokens':
        return (r) => parseTokens(r)
      case 'squad':
        // The qa stage reads SQuAD records in its qa-features node; checkRecipe refuses 'squad' elsewhere (SquadNeedsQa).
        throw new Error("format: data.format 'squad' reached the format node (the qa stage has none)")
    }
  }
  switch (format.kind) {
    case 'chatml-text':
      return (r) => parseChatmlText(r, format.column)
    case 'columns':
      return (r) => parseAlpaca(r, { prompt: format.prompt, query: format.query, response: format.response, system: format.system })
    case 'dataset-info': {
      const info = await loadDatasetInfo(format.file, format.name, baseDir)
      return info.formatting === 'alpaca' ? (r) => parseAlpaca(r, info.columns) : (r) => parseSharegpt(r, info.tags)
    }
  }
}

/** A record the format step skipped (`onError: 'skip'`), with where it was and why. */
export interface Skipped {
  where: string
  reason: string
}

/** `format.json`: counts of what the format step produced and every record it skipped. */
export interface FormatSummary {
  records: number
  conversations: number
  preferences: number
  /** KTO's unpaired examples (`unpaired.jsonl`). */
  unpaired: number
  /** Raw documents (data.format 'text'). */
  documents: number
  /** Pre-tokenized samples (data.format 'tokens'). */
  tokenized: number
  skipped: Skipped[]
}

/** A data file as errors name it: relative to the recipe's folder when inside it, else absolute. */
const shownPath = (file: string, baseDir: string): string => {
  const rel = relative(baseDir, file)
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file
}

export const describeOrigin = (origins: readonly SourceOrigin[], origin: number, line: number): string => {
  const o = origins[origin]
  return o ? `${o.file} ${o.unit} ${line}` : `record ${line}`
}

/**
 * Maps records to conversations (and preference pairs). A record that cannot be used is a
 * BadRecord error naming the file, the line or record, and the reason; with `onError: 'skip'` it is
 * skipped and listed in the summary. Streams: one record in memory at a time.
 */
export async function formatRecords(
  records: AsyncIterable<RecordLine> | Iterable<RecordLine>,
  parse: (record: DataRecord) => Parsed,
  opts: {
    origins: readonly SourceOrigin[]
    onError: 'fail' | 'skip'
    onConversation: (c: Conversation) => Promise<void> | void
    onPreference?: (p: Preference) => Promise<void> | void
    onUnpaired?: (u: Unpaired) => Promise<void> | void
    onDocument?: (d: Document) => Promise<void> | void
    onTokens?: (t: TokenRecord) => Promise<void> | void
    /** The folder a record's relative image paths start from, by origin, and how errors show a path. */
    images?: { dirOf: (origin: number) => string; shown: (path: string) => string }
  },
): Promise<FormatSummary> {
  const summary: FormatSummary = { records: 0, conversations: 0, preferences: 0, unpaired: 0, documents: 0, tokenized: 0, skipped: [] }
  for await (const item of records) {
    const id = String(summary.records++)
    const where = describeOrigin(opts.origins, item.origin, item.line)
    let parsed: Parsed
    try {
      if ('error' in item) throw new RecordProblem(item.error)
      parsed = parse(item.record)
      if (parsed.kind === 'conversation' && parsed.images) {
        const dir = opts.images?.dirOf(item.origin) ?? process.cwd()
        parsed = { ...parsed, images: resolveImages(parsed.images, dir, opts.images?.shown ?? ((p) => p)) }
      }
    } catch (e) {
      if (!(e instanceof RecordProblem)) throw e
      if (opts.onError === 'skip') {
        summary.skipped.push({ where, reason: e.message })
        continue
      }
      return fail(e.error, { path: 'data.format', value: where }, where, e.message)
    }
    if (parsed.kind === 'conversation') {
      summary.conversations++
      const c: Conversation = { id, messages: parsed.messages }
      if (parsed.tools) c.tools = parsed.tools
      if (parsed.images) c.images = parsed.images
      await opts.onConversation(c)
    } else if (parsed.kind === 'tokens') {
      summary.tokenized++
      await opts.onTokens?.({ id, where, ids: parsed.ids, mask: parsed.mask })
    } else if (parsed.kind === 'document') {
      summary.documents++
      await opts.onDocument?.({ id, text: parsed.text })
    } else if (parsed.kind === 'unpaired') {
      summary.unpaired++
      const u: Unpaired = { id, prompt: parsed.prompt, completion: parsed.completion, desirable: parsed.desirable }
      if (parsed.tools) u.tools = parsed.tools
      await opts.onUnpaired?.(u)
    } else {
      summary.preferences++
      const p: Preference = { id, prompt: parsed.prompt, chosen: parsed.chosen, rejected: parsed.rejected }
      if (parsed.tools) p.tools = parsed.tools
      await opts.onPreference?.(p)
    }
  }
  if (summary.conversations + summary.preferences + summary.unpaired + summary.documents + summary.tokenized === 0) fail('EmptyDataset', { path: 'data.format' }, 'format')
  return summary
}

/**
 * The format node's work: `records.jsonl` in `sourceDir` → `conversations.jsonl` (+ `preferences.jsonl`, `unpaired.jsonl`),
 * or `documents.jsonl` for data.format 'text', or `tokens.jsonl` for 'tokens', and `format.json`.
 * Files left empty are removed.
 */
export async function runFormat(
  format: Format,
  sourceDir: string,
  outDir: string,
  opts: { onError: 'fail' | 'skip'; baseDir: string },
): Promise<FormatSummary> {
  await mkdir(outDir, { recursive: true })
  const source = JSON.parse(await readFile(join(sourceDir, 'source.json'), 'utf8')) as SourceSummary
  const parse = await recordParser(format, opts.baseDir)
  const conversations = jsonLinesWriter(join(outDir, 'conversations.jsonl'))
  const preferences = jsonLinesWriter(join(outDir, 'preferences.jsonl'))
  const unpaired = jsonLinesWriter(join(outDir, 'unpaired.jsonl'))
  const documents = jsonLinesWriter(join(outDir, 'documents.jsonl'))
  const tokens = jsonLinesWriter(join(outDir, 'tokens.jsonl'))
  // LLaMA-Factory resolves image paths against media_dir, which defaults to the dataset_dir (the
  // folder of dataset_info.json); without one, the data file's folder; inline records, the recipe's.
  const datasetDir = typeof format === 'object' && format.kind === 'dataset-info' ? dirname(resolve(opts.baseDir, format.file)) : undefined
  const images = {
    dirOf: (origin: number): string => {
      const file = source.origins[origin]?.file
      // an inline record's origin is 'inline records', not a path
      return datasetDir ?? (file && isAbsolute(file) ? dirname(file) : opts.baseDir)
    },
    shown: (path: string): string => shownPath(path, opts.baseDir),
  }
  let summary: FormatSummary
  try {
    summary = await formatRecords(readJsonLines<RecordLine>(join(sourceDir, 'records.jsonl')), parse, {
      images,
      origins: source.origins.map((o) => ({ ...o, file: shownPath(o.file, opts.baseDir) })),
      onError: opts.onError,
      onConversation: (c) => conversations.write(c),
      onPreference: (p) => preferences.write(p),
      onUnpaired: (u) => unpaired.write(u),
      onDocument: (d) => documents.write(d),
      onTokens: (t) => tokens.write(t),
    })
  } finally {
    await conversations.close()
    await preferences.close()
    await unpaired.close()
    await documents.close()
    await tokens.close()
  }
  if (summary.preferences === 0) await rm(join(outDir, 'preferences.jsonl'), { force: true })
  if (summary.unpaired === 0) await rm(join(outDir, 'unpaired.jsonl'), { force: true })
  if (summary.documents === 0) await rm(join(outDir, 'documents.jsonl'), { force: true })
  if (summary.tokenized === 0) await rm(join(outDir, 'tokens.jsonl'), { force: true })
  if (summary.conversations === 0 && summary.documents + summary.tokenized > 0) await rm(join(outDir, 'conversations.jsonl'), { force: true })
  await writeJsonAtomic(join(outDir, 'format.json'), summary)
  return summary
}
