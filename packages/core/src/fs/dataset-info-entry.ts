// Reading one entry of a LLaMA-Factory dataset_info.json: compile reads it (so a bad entry or a
// file_name outside its folder stops the run before any node runs, and the entry's file decides
// what the source reads) and the format node maps it to a parser.
// @see https://github.com/hiyouga/LLaMA-Factory/blob/main/data/README.md
import { readFileSync } from 'node:fs'
import { dirname, isAbsolute, relative, resolve } from 'node:path'
import { fail } from '../errors/tunekit-error.ts'
import { rethrowFileError } from './file-issue.ts'
import { jsonParseProblem } from './json-text.ts'

/** One entry of `dataset_info.json`, as tunekit reads it. */
export interface DatasetInfoEntry {
  file_name?: string
  hf_hub_url?: string
  formatting?: 'alpaca' | 'sharegpt'
  ranking?: boolean
  columns?: Record<string, string>
  tags?: Record<string, string>
}

const formattings = ['alpaca', 'sharegpt'] as const
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`)

/** Why an entry cannot be used, or undefined when it can. */
function entryProblem(entry: unknown): string | undefined {
  if (!isObject(entry)) return `the entry is ${kind(entry)}, not an object`
  if (entry.formatting !== undefined && !(formattings as readonly unknown[]).includes(entry.formatting))
    return `formatting ${JSON.stringify(entry.formatting)} is not one of "alpaca", "sharegpt"`
  if (entry.ranking !== undefined && typeof entry.ranking !== 'boolean') return `ranking is ${kind(entry.ranking)}, not true or false`
  for (const key of ['columns', 'tags'] as const) {
    const value = entry[key]
    if (value === undefined) continue
    if (!isObject(value)) return `${key} is ${kind(value)}, not an object of names`
    const bad = Object.entries(value).find(([, v]) => typeof v !== 'string')
    if (bad) return `${key}.${bad[0]} is ${kind(bad[1])}, not a column or tag name`
  }
  if (entry.file_name !== undefined && (typeof entry.file_name !== 'string' || entry.file_name === '')) return `file_name is ${kind(entry.file_name)}, not a file name`
  return undefined
}

/**
 * Entry `name` of the dataset_info.json at `file` (relative to `baseDir`), checked: DataFileNotFound
 * when the file is absent, MalformedDataFile when it is not JSON, InvalidValue for an unknown
 * name, BadDatasetInfo for an entry tunekit cannot read (an unknown `formatting`, say).
 */
export function readDatasetInfoEntry(file: string, name: string, baseDir: string): { entry: DatasetInfoEntry; path: string } {
  const path = isAbsolute(file) ? file : resolve(baseDir, file)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') fail('DataFileNotFound', { path: 'data.format.file', value: file }, path)
    return rethrowFileError(e, path, 'data.format.file')
  }
  let all: unknown
  try {
    all = JSON.parse(text.replace(/^\uFEFF/, ''))
  } catch (e) {
    const p = jsonParseProblem(e, text)
    return fail('MalformedDataFile', { path: 'data.format.file', value: file }, path, p.line ? `line ${p.line} column ${p.column}` : '', `malformed JSON (${p.message})`)
  }
  if (!isObject(all)) return fail('MalformedDataFile', { path: 'data.format.file', value: file }, path, '', `expected an object of named entries, found ${kind(all)}`)
  if (!Object.hasOwn(all, name)) return fail('InvalidValue', { path: 'data.format.name', value: name }, Object.keys(all))
  const problem = entryProblem(all[name])
  if (problem) fail('BadDatasetInfo', { path: 'data.format.name', value: name }, path, name, problem)
  return { entry: all[name] as DatasetInfoEntry, path }
}

/**
 * The data file an entry's `file_name` names, resolved from the folder of dataset_info.json at
 * `infoPath`; DatasetInfoFileOutside for an absolute path or one that leaves that folder
 * (`../../etc/passwd`).
 */
export function resolveDatasetInfoFile(infoPath: string, name: string, fileName: string): string {
  const folder = dirname(infoPath)
  if (isAbsolute(fileName) || /^[A-Za-z]:[\\/]/.test(fileName))
    fail('DatasetInfoFileOutside', { path: 'data.format.name', value: fileName }, name, fileName, 'an absolute path')
  const resolved = resolve(folder, fileName)
  const rel = relative(folder, resolved)
  if (rel === '' || rel === '..' || rel.startsWith(`..${'/'}`) || rel.startsWith('..\\') || isAbsolute(rel))
    fail('DatasetInfoFileOutside', { path: 'data.format.name', value: fileName }, name, fileName, `which leads outside ${folder}`)
  return resolved
}
