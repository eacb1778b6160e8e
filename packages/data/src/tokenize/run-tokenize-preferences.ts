import { mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { TunekitError, writeFileAtomic, writeJsonAtomic } from '@tunekit/core'
import type { Preference, Unpaired } from '../formats/conversation.ts'
import { shardWriter, type ShardWriter } from '../shards/shards.ts'
import { builtinTemplates, turnEnd, type BuiltinTemplate } from '../templates/builtins.ts'
import { chatTemplate } from '../templates/render.ts'
import { savedChatTemplate } from '../templates/saved-template.ts'
import { loadTokenizer, type TokenChoices } from '../tokenizer/load.ts'
import { saveTokenizer } from '../tokenizer/save.ts'
import { readJsonLines } from '../util/lines.ts'
import { modelChatTemplate, type TemplateChoice } from './run-tokenize.ts'
import { preferenceCheckRows } from './preference-checks.ts'
import { formatChecks } from './checks.ts'
import { tokenizePreferences, type PreferenceReport } from './tokenize-preferences.ts'
import { trainableTokenIds } from './trainable-tokens.ts'

export interface RunTokenizePreferencesOptions {
  template: TemplateChoice
  maxLength: number
  maxPromptLength: number
  onError: 'fail' | 'skip'
  tokens: TokenChoices
  checkRoundTrip?: boolean
  /** `lora.trainableTokens`, resolved to ids into each shard set's index.json (`trainableTokenIds`). @defaultValue false */
  trainableTokens?: boolean | readonly string[]
}

const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false)

/** `preferences.jsonl`, then `unpaired.jsonl` of a format artifact, as the tokenizer reads them. */
async function* formatRecordsOf(formatDir: string): AsyncGenerator<{ kind: 'pair'; record: Preference } | { kind: 'unpaired'; record: Unpaired }> {
  const pairs = join(formatDir, 'preferences.jsonl')
  const unpaired = join(formatDir, 'unpaired.jsonl')
  if (await exists(pairs)) for await (const record of readJsonLines<Preference>(pairs)) yield { kind: 'pair', record }
  if (await exists(unpaired)) for await (const record of readJsonLines<Unpaired>(unpaired)) yield { kind: 'unpaired', record }
}

/**
 * The tokenize step for preference data (stages rm, dpo, kto, orpo, simpo): a format artifact's
 * `preferences.jsonl` and `unpaired.jsonl` → `pairs/` and `unpaired/` shard sets in `outDir`
 * (docs/architecture.md, "Preference shards"; read with readPreferenceShards), plus `tokenizer/`,
 * `chat_template.jinja` and `report.json`. A failed step leaves no shard set behind.
 */
export async function runTokenizePreferences(
  formatDir: string,
  modelDir: string,
  outDir: string,
  opts: RunTokenizePreferencesOptions,
): Promise<{ report: PreferenceReport; table: string }> {
  await mkdir(outDir, { recursive: true })
  const builtin = typeof opts.template === 'string' && opts.template in builtinTemplates ? (opts.template as BuiltinTemplate) : undefined
  const tok = await loadTokenizer(modelDir, opts.tokens, { eos: builtin ? turnEnd[builtin] : undefined })
  const template = chatTemplate(opts.template, { bosToken: tok.bos?.token ?? '', eosToken: tok.eos.token, modelTemplate: modelChatTemplate(tok.config.chat_template) })
  const writers: { pairs?: ShardWriter; unpaired?: ShardWriter } = {}
  const layouts = { pairs: { records: [] as string[], promptLengths: [] as number[], chosenLengths: [] as number[] }, unpaired: { records: [] as string[], promptLengths: [] as number[], desirable: [] as number[] } }
  let report: PreferenceReport
  try {
    report = await tokenizePreferences(formatRecordsOf(formatDir), tok, { template, maxLength: opts.maxLength, maxPromptLength: opts.maxPromptLength, onError: opts.onError, checkRoundTrip: opts.checkRoundTrip ?? true }, {
      pair: async (p) => {
        writers.pairs ??= await shardWriter(join(outDir, 'pairs'))
        layouts.pairs.records.push(p.record)
        layouts.pairs.promptLengths.push(p.prompt.length)
        layouts.pairs.chosenLengths.push(p.chosen.ids.length)
        await writers.pairs.add([...p.prompt, ...p.chosen.ids, ...p.rejected.ids], [...new Uint8Array(p.prompt.length), ...p.chosen.labels, ...p.rejected.labels])
      },
      unpaired: async (u) => {
        writers.unpaired ??= await shardWriter(join(outDir, 'unpaired'))
        layouts.unpaired.records.push(u.record)
        layouts.unpaired.promptLengths.push(u.prompt.length)
        layouts.unpaired.desirable.push(u.desirable ? 1 : 0)
        await writers.unpaired.add([...u.prompt, ...u.completion.ids], [...new Uint8Array(u.prompt.length), ...u.completion.labels])
      },
    })
  } catch (e) {
    await writers.pairs?.abort()
    await writers.unpaired?.abort()
    if (e instanceof TunekitError && 'report' in e) await writeJsonAtomic(join(outDir, 'report.json'), (e as TunekitError & { report: unknown }).report)
    throw e
  }
  const meta = { stats: { samples: report.samples, tokens: report.tokens, trainedTokens: report.trainedTokens, truncated: report.truncated, template: report.template, maxLength: opts.maxLength, maxPromptLength: opts.maxPromptLength }, eosId: tok.eos.id, padId: tok.pad.id, bosId: tok.addBos && tok.bos ? tok.bos.id : null,
    trainableTokenIds: trainableTokenIds(opts.trainableTokens ?? false, { chatml: opts.tokens.chatml ?? false, add: opts.tokens.add ?? [] }, tok.idOf) }
  await writers.pairs?.close({ ...meta, preference: { kind: 'pairs', ...layouts.pairs } })
  await writers.unpaired?.close({ ...meta, preference: { kind: 'unpaired', ...layouts.unpaired } })
  const jinja = savedChatTemplate(template, tok)
  await saveTokenizer(tok, join(outDir, 'tokenizer'), jinja)
  if (jinja !== undefined) await writeFileAtomic(join(outDir, 'chat_template.jinja'), jinja)
  await writeJsonAtomic(join(outDir, 'report.json'), report)
  return { report, table: formatChecks(preferenceCheckRows(report)) }
}
