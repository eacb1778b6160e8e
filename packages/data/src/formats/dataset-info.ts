import { readDatasetInfoEntry, resolveDatasetInfoFile, type DatasetInfoEntry } from '@tunekit/core'
import type { Role } from './conversation.ts'
import { alpacaDefaults, sharegptDefaults, type AlpacaColumns, type SharegptTags } from './parsers.ts'

export type { DatasetInfoEntry }

/** What a dataset_info entry means for tunekit: a parser configuration and the data file it names. */
export type DatasetInfoFormat =
  | { formatting: 'alpaca'; columns: AlpacaColumns; file?: string; hub?: string }
  | { formatting: 'sharegpt'; tags: SharegptTags; file?: string; hub?: string }

/**
 * Reads entry `name` of a LLaMA-Factory `dataset_info.json` (relative paths from `baseDir`),
 * checked by core's readDatasetInfoEntry as compile checks it: an unknown `formatting` or a
 * `file_name` outside the json's folder is a catalog error, never ignored.
 */
export async function loadDatasetInfo(file: string, name: string, baseDir: string): Promise<DatasetInfoFormat> {
  const { entry, path } = readDatasetInfoEntry(file, name, baseDir)
  return datasetInfoFormat(entry, path, name)
}

/**
 * Maps an entry's formatting, columns and tags to the alpaca or sharegpt parser's configuration;
 * `file` is its file_name resolved from the folder of `infoPath` (the dataset_info.json).
 */
export function datasetInfoFormat(entry: DatasetInfoEntry, infoPath: string, name: string): DatasetInfoFormat {
  const c = entry.columns ?? {}
  const t = entry.tags ?? {}
  const where: { file?: string; hub?: string } = {}
  if (entry.file_name) where.file = resolveDatasetInfoFile(infoPath, name, entry.file_name)
  if (entry.hf_hub_url) where.hub = entry.hf_hub_url
  if ((entry.formatting ?? 'alpaca') === 'alpaca') {
    const columns: AlpacaColumns = {
      prompt: c.prompt ?? alpacaDefaults.prompt,
      query: c.query ?? alpacaDefaults.query,
      response: c.response ?? alpacaDefaults.response,
      system: c.system,
      history: c.history,
      // LLaMA-Factory reads images only from a column the entry names
      images: c.images,
    }
    if (entry.ranking) {
      columns.chosen = c.chosen ?? 'chosen'
      columns.rejected = c.rejected ?? 'rejected'
    } else if (c.kto_tag) columns.ktoTag = c.kto_tag
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
    images: c.images,
    roleTag: t.role_tag ?? sharegptDefaults.roleTag,
    contentTag: t.content_tag ?? sharegptDefaults.contentTag,
    roles,
    callTag: t.function_tag ?? sharegptDefaults.callTag,
  }
  if (entry.ranking) {
    tags.chosen = c.chosen ?? 'chosen'
    tags.rejected = c.rejected ?? 'rejected'
  } else if (c.kto_tag) tags.ktoTag = c.kto_tag
  return { formatting: 'sharegpt', tags, ...where }
}
