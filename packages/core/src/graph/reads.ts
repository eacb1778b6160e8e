import { existsSync, readdirSync, statSync } from 'node:fs'
import { isAbsolute, join, resolve } from 'node:path'
import type { Recipe } from '../define.ts'
import { findDatasetDir, findModelDir } from '../hub-cache.ts'
import type { CompileOptions } from './compile.ts'

// The files outside the cache each data node reads: hashed into the node's key, so new bytes give
// a new key. Weights are never read here (too big, and named by config + revision).

/** Data files a `file` source or a Hub dataset snapshot can hold; `.txt` only with `type: 'text'` (folders hold notes too). */
const DATA_FILE = /\.(jsonl?|ndjson|csv|parquet)$/i
const TEXT_FILE = /\.txt$/i

/** Model files that change what the data and train nodes produce. */
const MODEL_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'] as const

function listDataFiles(path: string, text = false): string[] {
  if (!existsSync(path)) return [path]
  if (!statSync(path).isDirectory()) return [path]
  const out: string[] = []
  for (const name of readdirSync(path).sort()) {
    const full = join(path, name)
    // stat follows symbolic links: Hub cache snapshots link every file to a blob.
    const st = statSync(full, { throwIfNoEntry: false })
    if (st?.isDirectory() && !name.startsWith('.')) out.push(...listDataFiles(full, text))
    else if (st?.isFile() && (DATA_FILE.test(name) || (text && TEXT_FILE.test(name)))) out.push(full)
  }
  return out
}

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

/** The data files of a source. */
export function sourceReadPaths(source: Recipe['data']['source'], opts: CompileOptions): string[] {
  if (source.kind === 'inline') return []
  if (source.kind === 'file') {
    const paths = Array.isArray(source.path) ? source.path : [source.path]
    return paths.flatMap((p) => listDataFiles(resolve(opts.baseDir, p), source.type === 'text'))
  }
  const found = findDatasetDir(source.repo, source.revision, opts.env)
  return found.dir ? listDataFiles(found.dir) : [found.looked[0]!]
}

/** A LLaMA-Factory dataset_info.json the format reads. */
export function formatReadPaths(recipe: Recipe, opts: CompileOptions): string[] {
  const format = recipe.data.format
  return typeof format === 'object' && format.kind === 'dataset-info' ? [resolve(opts.baseDir, format.file)] : []
}
