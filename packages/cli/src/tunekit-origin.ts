// Where the running tunekit came from, so that `tunekit init` names an install that works: the
// tarballs it was installed from, the registry it was fetched from, or the checkout it runs in
// (whose packages are on no registry until released; docs/release.md).
import { existsSync, readFileSync, realpathSync } from 'node:fs'
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

export type TunekitOrigin =
  /** A source checkout of the tunekit repository (this CLI is not under node_modules). */
  | { kind: 'checkout'; root: string; version: string }
  /** Installed from `npm pack` tarballs: package name → absolute path of its .tgz (each exists). */
  | { kind: 'tarballs'; tarballs: ReadonlyMap<string, string> }
  /** Installed from a registry, or from where tunekit cannot tell (a global install). */
  | { kind: 'registry'; version: string }

/** The @tunekit/cli package folder this module belongs to (src/ or dist/ are one level down). */
const cliDir = (): string => realpathSync(join(dirname(fileURLToPath(import.meta.url)), '..'))

interface LockEntry {
  resolved?: string
}

/**
 * The origin of the tunekit around `cli` (default: this package): a checkout when the package is
 * not inside node_modules, else what npm's hidden lockfile (`node_modules/.package-lock.json` of
 * the project that installed it) recorded as `resolved` for @tunekit/cli. Without that file (a
 * global install, another package manager) the registry is assumed.
 */
export function tunekitOrigin(cli: string = cliDir()): TunekitOrigin {
  const parts = cli.split(sep)
  const nm = parts.indexOf('node_modules')
  const version = (JSON.parse(readFileSync(join(cli, 'package.json'), 'utf8')) as { version: string }).version
  if (nm < 0) return { kind: 'checkout', root: dirname(dirname(cli)), version }
  const project = parts.slice(0, nm).join(sep) || sep
  const lockFile = join(project, 'node_modules', '.package-lock.json')
  if (!existsSync(lockFile)) return { kind: 'registry', version }
  const tarballs = lockTarballs(project, readLock(lockFile))
  return tarballs.has('@tunekit/cli') ? { kind: 'tarballs', tarballs } : { kind: 'registry', version }
}

/** The `packages` of npm's hidden lockfile; none when it cannot be read (it is only a cache of npm's). */
function readLock(file: string): Record<string, LockEntry> {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { packages?: Record<string, LockEntry> }).packages ?? {}
  } catch {
    return {}
  }
}

/**
 * The @tunekit packages at the top of the project's node_modules that npm installed from a .tgz
 * file still there: the CLI's dependencies come from tarballs too (or npm would have fetched them
 * from the registry), and the others installed beside it (eval) with them.
 */
function lockTarballs(project: string, entries: Record<string, LockEntry>): Map<string, string> {
  const tarballs = new Map<string, string>()
  for (const [key, entry] of Object.entries(entries)) {
    const name = /^node_modules\/(@tunekit\/[^/]+)$/.exec(key)?.[1]
    const spec = entry.resolved
    if (name === undefined || spec === undefined || !spec.startsWith('file:') || !spec.endsWith('.tgz')) continue
    // `resolved` is relative to the project folder.
    const file = resolve(project, spec.slice('file:'.length))
    if (existsSync(file)) tarballs.set(name, file)
  }
  return tarballs
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
