import { existsSync, readdirSync, statSync } from 'node:fs'
import { isAbsolute, join, resolve } from 'node:path'
import type { Recipe } from '../define.ts'
import { findDatasetDir, findModelDir } from '../hub-cache.ts'
import { canonicalJson, createFileHasher, sha256, toJson, type FileHasher } from './hash.ts'
import type { Graph, GraphNode, Json, NodeKind, NodeRead } from './types.ts'

/** Options of {@link compile}. */
export interface CompileOptions {
  /** Folder of the recipe file; relative paths in the recipe resolve from here. */
  baseDir: string
  /** Artifact cache; when given, file hashes are remembered in `<cacheDir>/file-hashes.json`. */
  cacheDir?: string
  /** Environment for model lookup (`TUNEKIT_MODEL_PATH`, `HF_HOME`, `HF_HUB_CACHE`). */
  env?: Record<string, string | undefined>
}

/** Bumped when the meaning of a key changes, so old cache entries are never mistaken for new ones. */
const KEY_VERSION = 1

/** Data files a `file` source or a Hub dataset snapshot can hold. */
const DATA_FILE = /\.(jsonl?|csv|parquet)$/i

/** Model files that change what the data and train nodes produce (never the weights: too big, and named by config + revision). */
const MODEL_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'] as const

/**
 * Content key of a node: sha256 over its kind, canonical params, its inputs' keys and the hashes
 * of the files it reads. Paths never enter the key, so moving a project keeps its cache valid.
 */
export function nodeKey(kind: NodeKind, params: { [key: string]: Json }, inputKeys: string[], reads: NodeRead[]): string {
  return sha256(canonicalJson({ v: KEY_VERSION, kind, params, inputs: inputKeys, reads: reads.map((r) => r.hash) }))
}

function listDataFiles(path: string): string[] {
  if (!existsSync(path)) return [path]
  if (!statSync(path).isDirectory()) return [path]
  const out: string[] = []
  for (const name of readdirSync(path).sort()) {
    const full = join(path, name)
    // stat follows symbolic links: Hub cache snapshots link every file to a blob.
    const st = statSync(full, { throwIfNoEntry: false })
    if (st?.isDirectory() && !name.startsWith('.')) out.push(...listDataFiles(full))
    else if (st?.isFile() && DATA_FILE.test(name)) out.push(full)
  }
  return out
}

async function readsOf(paths: string[], hasher: FileHasher): Promise<NodeRead[]> {
  const reads: NodeRead[] = []
  for (const path of paths) reads.push({ path, hash: await hasher.hash(path) })
  return reads
}

function modelReadPaths(recipe: Recipe, opts: CompileOptions): string[] {
  const random = recipe.model.random
  if (random) {
    // Params determine a random model; only a tokenizer taken from a local folder adds bytes.
    const tokDir = isAbsolute(random.tokenizer) || random.tokenizer.startsWith('.') ? resolve(opts.baseDir, random.tokenizer) : null
    return tokDir ? [join(tokDir, 'tokenizer.json'), join(tokDir, 'tokenizer_config.json')] : []
  }
  const found = findModelDir(recipe.model, opts.baseDir, opts.env)
  // Not on this machine: the reads are 'missing', so the key changes once the files arrive.
  const dir = found.dir ?? found.looked[found.looked.length - 1] ?? resolve(opts.baseDir, recipe.model.id)
  return MODEL_FILES.map((f) => join(dir, f))
}

function sourceReadPaths(recipe: Recipe, opts: CompileOptions): string[] {
  const source = recipe.data.source
  if (source.kind === 'inline') return []
  if (source.kind === 'file') {
    const paths = Array.isArray(source.path) ? source.path : [source.path]
    return paths.flatMap((p) => listDataFiles(resolve(opts.baseDir, p)))
  }
  const found = findDatasetDir(source.repo, source.revision, opts.env)
  return found.dir ? listDataFiles(found.dir) : [found.looked[0]!]
}

function formatReadPaths(recipe: Recipe, opts: CompileOptions): string[] {
  const format = recipe.data.format
  return typeof format === 'object' && format.kind === 'dataset-info' ? [resolve(opts.baseDir, format.file)] : []
}

const omit = <T extends object, K extends keyof T>(obj: T, ...keys: K[]): Omit<T, K> => {
  const out = { ...obj }
  for (const k of keys) delete out[k]
  return out
}

/**
 * Compiles a recipe into its execution graph (DESIGN.md, "The graph"): nodes in topological order,
 * each with the recipe groups it depends on, the files it reads and a content key. Reads no
 * weights; hashes data files, the model's config.json and tokenizer files (streamed, remembered
 * by path, size and mtime).
 */
export async function compile(recipe: Recipe, opts: CompileOptions): Promise<Graph> {
  const hasher = createFileHasher(opts.cacheDir ? join(opts.cacheDir, 'file-hashes.json') : undefined)
  const { model, data, args, output } = recipe
  const nodes: GraphNode[] = []
  const byId = new Map<string, GraphNode>()

  const add = async (kind: NodeKind, params: object, inputs: string[], readPaths: string[], runsOn: GraphNode['runsOn'], id: string = kind): Promise<void> => {
    const json = toJson(params) as { [key: string]: Json }
    const reads = await readsOf(readPaths, hasher)
    const inputKeys = inputs.map((id) => byId.get(id)!.key)
    const node: GraphNode = { id, kind, params: json, inputs, reads, key: nodeKey(kind, json, inputKeys, reads), runsOn }
    nodes.push(node)
    byId.set(node.id, node)
  }

  await add('model', omit(model, 'quantize', 'gradientCheckpointing'), [], modelReadPaths(recipe, opts), 'data')
  await add('source', { source: data.source, limit: data.limit }, [], sourceReadPaths(recipe, opts), 'data')
  await add('format', { format: data.format, onError: data.onError }, ['source'], formatReadPaths(recipe, opts), 'data')
  const tokenizeParams = { template: data.template, maxLength: data.maxLength, truncation: data.truncation, mask: data.mask, onError: data.onError, tokens: recipe.tokens, family: model.family }
  await add('tokenize', tokenizeParams, ['format', 'model'], [], 'data')
  // A Hub dataset's own eval split (oasst_top1's `test`) runs through its own source → format →
  // tokenize chain; split then takes all of `tokenize` for training and all of `eval-tokenize` for eval.
  const evalSplit = data.split.evalSplit
  if (evalSplit !== undefined && data.source.kind === 'hub') {
    await add('source', { source: { ...data.source, split: evalSplit }, limit: data.limit }, [], sourceReadPaths(recipe, opts), 'data', 'eval-source')
    await add('format', { format: data.format, onError: data.onError }, ['eval-source'], formatReadPaths(recipe, opts), 'data', 'eval-format')
    await add('tokenize', tokenizeParams, ['eval-format', 'model'], [], 'data', 'eval-tokenize')
  }
  await add('split', { split: data.split }, byId.has('eval-tokenize') ? ['tokenize', 'eval-tokenize'] : ['tokenize'], [], 'data')
  await add(
    'collate',
    {
      batchSize: args.batchSize, gradientAccumulationSteps: args.gradientAccumulationSteps, epochs: args.epochs, maxSteps: args.maxSteps,
      groupByLength: args.groupByLength, seed: args.seed, packing: data.packing, maxLength: data.maxLength,
    },
    ['split'],
    [],
    'data',
  )
  await add('train', { model, tokens: recipe.tokens, method: recipe.method, args, backend: recipe.backend, device: recipe.device }, ['model', 'tokenize', 'split', 'collate'], [], 'backend')
  if (output.merge) await add('merge', { maxShardSize: output.maxShardSize, backend: recipe.backend }, ['model', 'train', 'tokenize'], [], 'backend')
  if (output.samples.length > 0) {
    // Without a merged model, generate answers with the base model plus the adapter.
    await add('generate', { samples: output.samples }, output.merge ? ['merge', 'tokenize'] : ['model', 'train', 'tokenize'], [], 'backend')
  }
  hasher.save()
  return { version: 1, recipeName: recipe.name, nodes }
}
