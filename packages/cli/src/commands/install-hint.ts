// What `tunekit init` tells a user to run before a new recipe can run: the install of tunekit as
// it reached this machine (tarballs, a registry, or a checkout to pack first), and the ESM switch
// that a recipe's top-level `await main(…)` needs.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { installPath, type TunekitOrigin } from '../tunekit-origin.ts'

/** `text` as one shell word: quoted when it holds anything but safe characters (paths with spaces). */
export function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`
}

/** Where a checkout's `npm run tarballs` writes the packages, from its root (package.json). */
export const checkoutTarballs = '.tunekit/tarballs'

export interface InstallHint {
  /** Run in the project folder. */
  command: string
  /** Why, when the command is not the whole story. */
  note?: string
}

/** The install of `names` into the project in `dir`, as `origin` says tunekit can be installed. */
export function installHint(origin: TunekitOrigin, names: readonly string[], dir: string): InstallHint {
  if (origin.kind === 'checkout') {
    return {
      // The checkout quoted on its own, so that the glob stays outside the quotes.
      command: `npm install ${shellWord(origin.root)}/${checkoutTarballs}/*.tgz`,
      note: `tunekit is on no registry yet: make those tarballs first with \`cd ${shellWord(origin.root)} && npm run tarballs\``,
    }
  }
  if (origin.kind === 'tarballs') {
    // Every tarball, not only `names`: the registry cannot supply the @tunekit packages they need.
    const files = [...origin.tarballs.values()].sort().map((f) => shellWord(installPath(f, dir)))
    return { command: `npm install ${files.join(' ')}` }
  }
  return { command: `npm install ${names.map((n) => `${n}@^${origin.version}`).join(' ')}` }
}

/**
 * The module type of TypeScript files in `dir`: the nearest package.json's `type` (`'commonjs'`
 * when it has none), or `undefined` without a package.json. Only `'module'` runs a recipe: tsx
 * compiles the others to CommonJS, where a recipe's top-level `await` is a syntax error.
 */
export function moduleType(dir: string): string | undefined {
  for (let cur = dir; ; cur = dirname(cur)) {
    const file = join(cur, 'package.json')
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { type?: string }).type ?? 'commonjs'
    if (dirname(cur) === cur) return undefined
  }
}
