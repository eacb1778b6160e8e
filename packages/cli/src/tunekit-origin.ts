// Where the running tunekit came from, so that `tunekit init` names an install that works: the
// tarballs it was installed from, the registry it was fetched from, or the checkout it runs in
// (whose packages are on no registry until released; docs/release.md).
import { existsSync, readFileSync, realpathSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

export type TunekitOrigin =
  /** A source checkout of the tunekit repository (this CLI is not under node_modules). */
  | { kind: 'checkout'; root: string; version: string }
  /** Installed from `npm pack` tarballs: package name → absolute path of its .tgz (each exists). */
  | { kind: 'tarballs'; tarballs: ReadonlyMap<string, string> }
  /** Installed from a registry (`known`: the lockfile says so; else assumed, e.g. a global install). */
  | { kind: 'registry'; version: string; known: boolean }

/** The @tunekit/cli package folder this module belongs to (src/ or dist/ are one level down). */
const cliDir = (): string => realpathSync(join(dirname(fileURLToPath(import.meta.url)), '..'))

interface LockEntry {
  resolved?: string
}

/**
 * The origin of the tunekit around `cli` (default: this package): a checkout when the package is
 * not inside node_modules, else what npm's hidden lockfile (`node_modules/.package-lock.json` of
 * the project that installed it) recorded as `resolved` for @tunekit/cli and its siblings.
 */
export function tunekitOrigin(cli: string = cliDir()): TunekitOrigin {
  const parts = cli.split(sep)
  const nm = parts.indexOf('node_modules')
  const version = (JSON.parse(readFileSync(join(cli, 'package.json'), 'utf8')) as { version: string }).version
  if (nm < 0) return { kind: 'checkout', root: dirname(dirname(cli)), version }
  const project = parts.slice(0, nm).join(sep) || sep
  const lockFile = join(project, 'node_modules', '.package-lock.json')
  if (!existsSync(lockFile)) return { kind: 'registry', version, known: false }
  const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as { packages?: Record<string, LockEntry> }
  const entries = lock.packages ?? {}
  const own = entries[relative(project, cli).split(sep).join('/')]?.resolved
  if (own === undefined || !own.startsWith('file:')) return { kind: 'registry', version, known: own !== undefined }
  // Every @tunekit package the CLI resolves (its dependencies are tarballs too, or npm would have
  // fetched them), plus the others installed beside it (eval).
  const tarballs = new Map<string, string>()
  const require = createRequire(join(cli, 'package.json'))
  for (const [key, entry] of Object.entries(entries)) {
    const name = /(?:^|\/)node_modules\/(@tunekit\/[^/]+)$/.exec(key)?.[1]
    if (name === undefined || !entry.resolved?.startsWith('file:') || !entry.resolved.endsWith('.tgz')) continue
    const at = join(project, ...key.split('/'))
    // Only the copy this CLI would load: a nested one belongs to another package.
    const loaded = (() => {
      try {
        return realpathSync(dirname(require.resolve(`${name}/package.json`)))
      } catch {
        return undefined
      }
    })()
    if (loaded !== undefined && loaded !== realpathSync(at)) continue
    const file = resolve(project, entry.resolved.slice('file:'.length))
    if (existsSync(file)) tarballs.set(name, file)
  }
  return tarballs.has('@tunekit/cli') ? { kind: 'tarballs', tarballs } : { kind: 'registry', version, known: false }
}

/** `path` as an npm install argument from `dir`: relative with `./` or `../` (a bare `a/b.tgz` is a GitHub spec). */
export function installPath(path: string, dir: string): string {
  const rel = relative(dir, path)
  if (isAbsolute(rel)) return rel
  return rel.startsWith('..') ? rel.split(sep).join('/') : `./${rel.split(sep).join('/')}`
}

/**
 * The package.json dependency specs of `names` for a project in `dir`: `file:` tarball paths
 * relative to it, or `^version` ranges (what a checkout's packages will be published as). Tarballs
 * bring every @tunekit package they have, since the registry cannot fill in the ones left out.
 */
export function dependencySpecs(origin: TunekitOrigin, names: readonly string[], dir: string): Map<string, string> {
  if (origin.kind !== 'tarballs') return new Map(names.map((n) => [n, `^${origin.version}`]))
  return new Map([...origin.tarballs].sort(([a], [b]) => a.localeCompare(b)).map(([name, file]) => [name, `file:${installPath(file, dir)}`]))
}
