import { mkdir, rm } from 'node:fs/promises'
import { isAbsolute, join, relative } from 'node:path'
import { fail, type Format } from '@tunekit/core'
import { jsonLinesWriter, readJsonLines } from '../util/lines.ts'
import { readFile } from 'node:fs/promises'
import { writeJsonAtomic } from '@tunekit/core'
import type { RecordLine, SourceOrigin, SourceSummary } from '../sources/run-source.ts'
import { RecordProblem, type Conversation, type Document, type Preference } from './conversation.ts'
import { loadDatasetInfo } from './dataset-info.ts'
import { parseAlpaca, parseChatmlText, parseOpenai, parseSharegpt, parseText, type Parsed } from './parsers.ts'

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
  /** Raw documents (data.format 'text'). */
  documents: number
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
    onDocument?: (d: Document) => Promise<void> | void
  },
): Promise<FormatSummary> {
  const summary: FormatSummary = { records: 0, conversations: 0, preferences: 0, documents: 0, skipped: [] }
  for await (const item of records) {
    const id = String(summary.records++)
    const where = describeOrigin(opts.origins, item.origin, item.line)
    let parsed: Parsed
    try {
      if ('error' in item) throw new RecordProblem(item.error)
      parsed = parse(item.record)
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
      await opts.onConversation(c)
    } else if (parsed.kind === 'document') {
      summary.documents++
      await opts.onDocument?.({ id, text: parsed.text })
    } else {
      summary.preferences++
      await opts.onPreference?.({ id, prompt: parsed.prompt, chosen: parsed.chosen, rejected: parsed.rejected })
    }
  }
  if (summary.conversations + summary.preferences + summary.documents === 0) fail('EmptyDataset', { path: 'data.format' }, 'format')
  return summary
}

/**
 * The format node's work: `records.jsonl` in `sourceDir` → `conversations.jsonl` (+ `preferences.jsonl`),
 * or `documents.jsonl` for data.format 'text', and `format.json`. Files left empty are removed.
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
  const documents = jsonLinesWriter(join(outDir, 'documents.jsonl'))
  let summary: FormatSummary
  try {
    summary = await formatRecords(readJsonLines<RecordLine>(join(sourceDir, 'records.jsonl')), parse, {
      origins: source.origins.map((o) => ({ ...o, file: shownPath(o.file, opts.baseDir) })),
      onError: opts.onError,
      onConversation: (c) => conversations.write(c),
      onPreference: (p) => preferences.write(p),
      onDocument: (d) => documents.write(d),
    })
  } finally {
    await conversations.close()
    await preferences.close()
    await documents.close()
  }
  if (summary.preferences === 0) await rm(join(outDir, 'preferences.jsonl'), { force: true })
  if (summary.documents === 0) await rm(join(outDir, 'documents.jsonl'), { force: true })
  else if (summary.conversations === 0) await rm(join(outDir, 'conversations.jsonl'), { force: true })
  await writeJsonAtomic(join(outDir, 'format.json'), summary)
  return summary
}
