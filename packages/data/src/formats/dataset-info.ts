import { readFile } from 'node:fs/promises'
import { dirname, isAbsolute, resolve } from 'node:path'
import { fail } from '@tunekit/core'
import type { Role } from './conversation.ts'
import { alpacaDefaults, sharegptDefaults, type AlpacaColumns, type SharegptTags } from './parsers.ts'

/** One entry of LLaMA-Factory's `data/dataset_info.json`. */
export interface DatasetInfoEntry {
  file_name?: string
  hf_hub_url?: string
  formatting?: 'alpaca' | 'sharegpt'
  ranking?: boolean
  columns?: Record<string, string>
  tags?: Record<string, string>
}

/** What a dataset_info entry means for tunekit: a parser configuration and the data file it names. */
export type DatasetInfoFormat =
  | { formatting: 'alpaca'; columns: AlpacaColumns; file?: string; hub?: string }
  | { formatting: 'sharegpt'; tags: SharegptTags; file?: string; hub?: string }

/** Reads entry `name` of a LLaMA-Factory `dataset_info.json` (relative paths from `baseDir`). */
export async function loadDatasetInfo(file: string, name: string, baseDir: string): Promise<DatasetInfoFormat> {
  const path = isAbsolute(file) ? file : resolve(baseDir, file)
  let all: Record<string, DatasetInfoEntry>
  try {
    all = JSON.parse(await readFile(path, 'utf8')) as Record<string, DatasetInfoEntry>
  } catch (e) {
    return fail('DatasetNotFound', { path: 'data.format.file', value: file, hintArgs: [name] }, name, [`${path} (${(e as Error).message})`])
  }
  const entry = all[name]
  if (!entry) return fail('InvalidValue', { path: 'data.format.name', value: name }, Object.keys(all))
  return datasetInfoFormat(entry, dirname(path))
}

/** Maps an entry's formatting, columns and tags to the alpaca or sharegpt parser's configuration. */
export function datasetInfoFormat(entry: DatasetInfoEntry, folder: string): DatasetInfoFormat {
  const c = entry.columns ?? {}
  const t = entry.tags ?? {}
  const where: { file?: string; hub?: string } = {}
  if (entry.file_name) where.file = resolve(folder, entry.file_name)
  if (entry.hf_hub_url) where.hub = entry.hf_hub_url
  if ((entry.formatting ?? 'alpaca') === 'alpaca') {
    const columns: AlpacaColumns = {
      prompt: c.prompt ?? alpacaDefaults.prompt,
      query: c.query ?? alpacaDefaults.query,
      response: c.response ?? alpacaDefaults.response,
      system: c.system,
      history: c.history,
    }
    if (entry.ranking) {
      columns.chosen = c.chosen ?? 'chosen'
      columns.rejected = c.rejected ?? 'rejected'
    }
    return { formatting: 'alpaca', columns, ...where }
  }
  const roles: Record<string, Role> = {
    [t.user_tag ?? 'human']: 'user',
    [t.assistant_tag ?? 'gpt']: 'assistant',
    [t.system_tag ?? 'system']: 'system',
    [t.function_tag ?? 'function_call']: 'assistant',
    [t.observation_tag ?? 'observation']: 'tool',
  }
  const tags: SharegptTags = {
    messages: c.messages ?? sharegptDefaults.messages,
    system: c.system,
    tools: c.tools,
    roleTag: t.role_tag ?? sharegptDefaults.roleTag,
    contentTag: t.content_tag ?? sharegptDefaults.contentTag,
    roles,
  }
  if (entry.ranking) {
    tags.chosen = c.chosen ?? 'chosen'
    tags.rejected = c.rejected ?? 'rejected'
  }
  return { formatting: 'sharegpt', tags, ...where }
}
