import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { TunekitError } from '@tunekit/core'
import type { Conversation } from '../formats/conversation.ts'
import { builtinTemplates, templateMarkers, turnEnd, type BuiltinTemplate } from '../templates/builtins.ts'
import { chatTemplate } from '../templates/render.ts'
import { loadTokenizer, type TokenChoices } from '../tokenizer/load.ts'
import { saveTokenizer } from '../tokenizer/save.ts'
import { shardWriter, type ShardIndex } from '../shards/shards.ts'
import { readJsonLines } from '../util/lines.ts'
import { writeFileAtomic, writeJsonAtomic } from '@tunekit/core'
import { checkRows, formatChecks } from './checks.ts'
import { tokenizeConversations, type MaskMode, type TokenizeReport, type Truncation } from './tokenize.ts'

export type TemplateChoice = BuiltinTemplate | 'model' | { jinja: string }

export interface RunTokenizeOptions {
  template: TemplateChoice
  maxLength: number
  truncation: Truncation
  mask: MaskMode
  onError: 'fail' | 'skip'
  tokens: TokenChoices
  /** Content key written into index.json. */
  key?: string
  checkRoundTrip?: boolean
}

/** tokenizer_config.json's chat_template: a string, or a list of `{ name, template }` (the `default` one). */
const modelChatTemplate = (value: unknown): string | undefined => {
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
    }, (s) => writer.add(s.ids, s.mask))
  } catch (e) {
    await writer.abort()
    if (e instanceof TunekitError && 'report' in e) await writeJsonAtomic(join(outDir, 'report.json'), (e as TunekitError & { report: unknown }).report)
    throw e
  }
  const stats = {
    samples: report.samples, tokens: report.tokens, trainedTokens: report.trainedTokens, longest: report.longest,
    truncated: report.truncated, dropped: report.dropped, split: report.split, template: template.name, mask: opts.mask, maxLength: opts.maxLength,
  }
  const index = await writer.close({ ...(opts.key ? { key: opts.key } : {}), stats, eosId: tok.eos.id, padId: tok.pad.id, bosId: tok.addBos && tok.bos ? tok.bos.id : null })
  await saveTokenizer(tok, join(outDir, 'tokenizer'), template.jinja)
  await writeFileAtomic(join(outDir, 'chat_template.jinja'), template.jinja)
  await writeJsonAtomic(join(outDir, 'report.json'), report)
  return { report, index, table: formatChecks(checkRows(report)) }
}
