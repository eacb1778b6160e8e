import { existsSync, readFileSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import { fail } from './errors/tunekit-error.ts'

/** Where a model or dataset folder was found, and every place that was tried. */
export interface FolderLookup {
  /** Absolute folder, or `null` when none of the places holds it. */
  dir: string | null
  /** The places tried, in order (for error messages and `plan`). */
  looked: string[]
}

type Env = Record<string, string | undefined>

/**
 * The Hugging Face Hub cache folder: `HF_HUB_CACHE`, else `HF_HOME/hub`, else
 * `~/.cache/huggingface/hub` (the layout `huggingface_hub` writes).
 * @see https://huggingface.co/docs/huggingface_hub/guides/manage-cache
 */
export function hubCacheDir(env: Env = process.env): string {
  if (env.HF_HUB_CACHE) return resolve(env.HF_HUB_CACHE)
  if (env.HF_HOME) return join(resolve(env.HF_HOME), 'hub')
  return join(homedir(), '.cache', 'huggingface', 'hub')
}

const isDir = (p: string): boolean => existsSync(p) && statSync(p).isDirectory()

/**
 * A snapshot folder of a repo in the Hub cache: `<cache>/<kind>s--org--name/snapshots/<commit>/`,
 * where `<commit>` is the content of `refs/<revision>` (a branch or tag) or the revision itself
 * when it is a commit hash.
 */
export function hubSnapshotDir(kind: 'model' | 'dataset', repo: string, revision: string, env: Env = process.env): { dir: string | null; looked: string } {
  const repoDir = join(hubCacheDir(env), `${kind}s--${repo.split('/').join('--')}`)
  const ref = join(repoDir, 'refs', revision)
  const commit = existsSync(ref) ? readFileSync(ref, 'utf8').trim() : revision
  const snapshot = join(repoDir, 'snapshots', commit)
  return { dir: isDir(snapshot) ? snapshot : null, looked: snapshot }
}

/**
 * Finds the local folder of a model, without loading anything. Order: `model.path` (relative to
 * `baseDir`), `TUNEKIT_MODEL_PATH`, `model.id` when it is itself a folder, then the Hub cache at
 * the recipe's revision.
 */
export function findModelDir(model: { id: string; path?: string | undefined; revision?: string | undefined }, baseDir: string, env: Env = process.env): FolderLookup {
  const looked: string[] = []
  const candidates: string[] = []
  if (model.path) candidates.push(isAbsolute(model.path) ? model.path : resolve(baseDir, model.path))
  if (env.TUNEKIT_MODEL_PATH) candidates.push(resolve(env.TUNEKIT_MODEL_PATH))
  if (model.id.startsWith('.') || isAbsolute(model.id)) candidates.push(resolve(baseDir, model.id))
  for (const c of candidates) {
    looked.push(c)
    if (isDir(c)) return { dir: c, looked }
  }
  if (/^[\w.-]+\/[\w.-]+$/.test(model.id)) {
    const hub = hubSnapshotDir('model', model.id, model.revision ?? 'main', env)
    looked.push(hub.looked)
    if (hub.dir) return { dir: hub.dir, looked }
  }
  return { dir: null, looked }
}

/** {@link findModelDir}, throwing `ModelNotFound` (with every place tried) when there is none. */
export function requireModelDir(model: { id: string; path?: string | undefined; revision?: string | undefined }, baseDir: string, env: Env = process.env): string {
  const found = findModelDir(model, baseDir, env)
  if (found.dir) return found.dir
  return fail('ModelNotFound', { path: 'model.id', value: model.id, hintArgs: [model.id] }, model.id, found.looked)
}

/** The snapshot folder of a Hub dataset, when it is in the cache. */
export function findDatasetDir(repo: string, revision: string, env: Env = process.env): FolderLookup {
  const hub = hubSnapshotDir('dataset', repo, revision, env)
  return { dir: hub.dir, looked: [hub.looked] }
}
