import { existsSync } from 'node:fs'
import { isAbsolute, join, resolve } from 'node:path'
import type { Recipe } from '../define.ts'
import { fail } from '../errors/tunekit-error.ts'
import { readDatasetInfoEntry, resolveDatasetInfoFile } from '../fs/dataset-info-entry.ts'
import { listDataFiles } from '../fs/list-data-files.ts'
import { findDatasetDir, findModelDir } from '../hub-cache.ts'
import type { CompileOptions } from './options.ts'

// The files outside the cache each data node reads: hashed into the node's key, so new bytes give
// a new key. Weights are never read here (too big, and named by config + revision).

/** Model files that change what the data and train nodes produce. */
const MODEL_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'] as const

/** The model's config and tokenizer files (a random model: only a tokenizer taken from a local folder). */
export function modelReadPaths(recipe: Recipe, opts: CompileOptions): string[] {
  const random = recipe.model.random
  if (random) {
    const tokDir = isAbsolute(random.tokenizer) || random.tokenizer.startsWith('.') ? resolve(opts.baseDir, random.tokenizer) : null
    return tokDir ? [join(tokDir, 'tokenizer.json'), join(tokDir, 'tokenizer_config.json')] : []
  }
  const found = findModelDir(recipe.model, opts.baseDir, opts.env)
  // Not on this machine: the reads are 'missing', so the key changes once the files arrive.
  const dir = found.dir ?? found.looked[found.looked.length - 1] ?? resolve(opts.baseDir, recipe.model.id)
  return MODEL_FILES.map((f) => join(dir, f))
}

/** The data files of a source, as the source node lists them (core's one listing). */
export function sourceReadPaths(source: Recipe['data']['source'], opts: CompileOptions): string[] {
  if (source.kind === 'inline') return []
  if (source.kind === 'file') {
    const paths = Array.isArray(source.path) ? source.path : [source.path]
    return paths.flatMap((p, i) => listDataFiles(resolve(opts.baseDir, p), Array.isArray(source.path) ? `data.source.path[${i}]` : 'data.source.path', source.type === 'text'))
  }
  const found = findDatasetDir(source.repo, source.revision, opts.env)
  return found.dir ? listDataFiles(found.dir, 'data.source') : [found.looked[0]!]
}

/** The dataset_info.json entry whose `file_name` picks one of a `file` source's files. */
export interface DatasetInfoPick {
  /** The dataset_info.json, as the recipe names it (relative to the recipe's folder). */
  file: string
  /** The entry's name. */
  name: string
  /** The entry's file_name, relative to the folder of dataset_info.json. */
  fileName: string
  /** The absolute path it picks. */
  path: string
}

/**
 * The data file a dataset_info entry's `file_name` picks among a `file` source's files. The entry
 * is checked here, whatever the source, so that a bad entry or a file_name outside its folder stops
 * before any node runs. Without the json (reported missing before the run), a file_name or a
 * `file` source, the source reads all its files.
 */
export function datasetInfoPick(recipe: Recipe, opts: CompileOptions, files: readonly string[]): DatasetInfoPick | undefined {
  const { format, source } = recipe.data
  if (typeof format !== 'object' || format.kind !== 'dataset-info') return undefined
  if (!existsSync(resolve(opts.baseDir, format.file))) return undefined
  const { entry, path: infoPath } = readDatasetInfoEntry(format.file, format.name, opts.baseDir)
  if (entry.file_name === undefined) return undefined
  const path = resolveDatasetInfoFile(infoPath, format.name, entry.file_name)
  if (source.kind !== 'file') return undefined
  if (!files.includes(path)) fail('DatasetInfoFileNotInSource', { path: 'data.source.path', value: source.path }, format.name, path, files)
  return { file: format.file, name: format.name, fileName: entry.file_name, path }
}

/** A LLaMA-Factory dataset_info.json the format reads. */
export function formatReadPaths(recipe: Recipe, opts: CompileOptions): string[] {
  const format = recipe.data.format
  return typeof format === 'object' && format.kind === 'dataset-info' ? [resolve(opts.baseDir, format.file)] : []
}
