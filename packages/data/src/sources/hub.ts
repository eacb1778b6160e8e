import { existsSync } from 'node:fs'
import { readFile, readdir } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, relative, sep } from 'node:path'
import { snapshotDownload } from '@huggingface/hub'
import { fail } from '@tunekit/core'
import { fileTypeOf } from './read-files.ts'

/** The Hub cache folder: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE
  return join(env.HF_HOME ?? join(homedir(), '.cache', 'huggingface'), 'hub')
}

/** True when `HF_HUB_OFFLINE` forbids network access (the values huggingface_hub accepts). */
export const hubOffline = (env: NodeJS.ProcessEnv = process.env): boolean =>
  ['1', 'true', 'yes', 'on'].includes((env.HF_HUB_OFFLINE ?? '').toLowerCase())

/** `datasets--owner--name`, the Hub cache's folder name for a dataset repository. */
export const datasetFolder = (repo: string): string => `datasets--${repo.split('/').join('--')}`

/** The cached snapshot folder of `repo` at `revision`, or undefined when it is not cached. */
export async function cachedSnapshot(repo: string, revision: string, cacheDir = hubCacheDir()): Promise<string | undefined> {
  const repoDir = join(cacheDir, datasetFolder(repo))
  let commit = revision
  if (!/^[0-9a-f]{40}$/.test(revision)) {
    const ref = join(repoDir, 'refs', revision)
    if (!existsSync(ref)) return undefined
    commit = (await readFile(ref, 'utf8')).trim()
  }
  const snapshot = join(repoDir, 'snapshots', commit)
  return existsSync(snapshot) ? snapshot : undefined
}

const knownSplits = ['train', 'test', 'validation', 'valid', 'eval', 'dev']

/** Whether a file inside a snapshot belongs to `split` (datasets' naming: `data/train-0000-of-0001.parquet`, `train.jsonl`, `train/…`). */
function inSplit(rel: string, split: string): boolean {
  const parts = rel.split(sep)
  const base = parts.at(-1)!.toLowerCase()
  return parts.slice(0, -1).includes(split) || base === split || base.startsWith(`${split}-`) || base.startsWith(`${split}.`) || base.startsWith(`${split}_`)
}

/** The data files of one split in a snapshot, sorted. A dataset without split names is all train. */
export async function splitFiles(snapshot: string, split: string): Promise<string[]> {
  const all = (await readdir(snapshot, { recursive: true, withFileTypes: true }))
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && fileTypeOf(e.name) !== undefined && e.name !== 'dataset_info.json')
    .map((e) => relative(snapshot, join(e.parentPath, e.name)))
    .sort()
  if (split === 'all') return all.map((f) => join(snapshot, f))
  let picked = all.filter((f) => inSplit(f, split))
  if (picked.length === 0 && split === 'train' && !all.some((f) => knownSplits.some((s) => inSplit(f, s)))) picked = all
  return picked.map((f) => join(snapshot, f))
}

/**
 * Finds a Hub dataset's files for one split: from the cache when it is there (no network), else by
 * downloading the snapshot into the cache with `@huggingface/hub` (unless `HF_HUB_OFFLINE` is set;
 * `HF_ENDPOINT` and `HF_TOKEN` are honoured as huggingface_hub does).
 * Fails with DatasetNotFound naming where it looked.
 */
export async function hubDatasetFiles(repo: string, opts: { revision?: string; split?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string[]> {
  const env = opts.env ?? process.env
  const revision = opts.revision ?? 'main'
  const split = opts.split ?? 'train'
  const cacheDir = hubCacheDir(env)
  const looked = join(cacheDir, datasetFolder(repo))
  let snapshot = await cachedSnapshot(repo, revision, cacheDir)
  if (!snapshot) {
    const notFound = (why: string): never =>
      fail('DatasetNotFound', { path: 'data.source', value: repo, hintArgs: [repo] }, repo, [`${looked} (${why})`])
    if (hubOffline(env)) notFound('not cached; HF_HUB_OFFLINE is set');
    try {
      const params: Parameters<typeof snapshotDownload>[0] = { repo: { type: 'dataset', name: repo }, revision, cacheDir }
      if (env.HF_TOKEN) params.accessToken = env.HF_TOKEN
      if (env.HF_ENDPOINT) params.hubUrl = env.HF_ENDPOINT
      snapshot = await snapshotDownload(params)
    } catch (e) {
      notFound(`not cached; download failed: ${(e as Error).message}`)
    }
  }
  const files = await splitFiles(snapshot!, split)
  if (files.length === 0)
    fail('DatasetNotFound', { path: 'data.source.split', value: split, hintArgs: [repo] }, `${repo} (split ${split})`, [snapshot!])
  return files
}
