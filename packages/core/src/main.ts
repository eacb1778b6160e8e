import type { Recipe } from './define.ts'

/** The part of `import.meta` that {@link main} reads. */
export interface EntryMeta {
  /** `import.meta.url` of the recipe file. */
  url: string
  /** `import.meta.main` where the runtime provides it (Node ≥ 24, Deno, Bun). */
  main?: boolean
}

const withoutExtension = (path: string): string => path.replace(/\.[cm]?[jt]sx?$/, '')

/**
 * True when the module at `meta.url` is the process entry point (`npx tsx recipe.ts`), false when
 * it was imported (by `tunekit check`, a test or another recipe).
 */
export async function isEntryPoint(meta: EntryMeta): Promise<boolean> {
  if (typeof meta.main === 'boolean') return meta.main
  const proc = (globalThis as { process?: { argv?: string[] } }).process
  const script = proc?.argv?.[1]
  if (!script || !meta.url.startsWith('file:')) return false
  const { realpathSync } = await import('node:fs')
  const { resolve } = await import('node:path')
  const { fileURLToPath } = await import('node:url')
  const real = (p: string): string => {
    try {
      return realpathSync(p)
    } catch {
      return p
    }
  }
  const self = real(fileURLToPath(meta.url))
  const entry = real(resolve(script))
  // `tsx recipes/tiny` runs recipes/tiny.ts: compare without the extension too.
  return self === entry || withoutExtension(self) === entry
}

/**
 * Runs the `tunekit` command line on `recipe` when the recipe file is the entry point
 * (`npx tsx recipes/x.ts [check|plan|run …]`); does nothing when the file is imported, so
 * importing a recipe never runs it.
 *
 * @example
 * export const recipe = defineRecipe({ … })
 * await main(import.meta, recipe)
 */
export async function main(meta: EntryMeta, recipe: Recipe): Promise<void> {
  if (!(await isEntryPoint(meta))) return
  // A variable specifier, not a static import: @tunekit/cli depends on @tunekit/core, so a static
  // import would be a package cycle, put the CLI (commander, ts-morph) into every program that
  // uses core, and make bundlers and `tsc` follow it. The CLI is loaded only for an entry point.
  const cliPackage = '@tunekit/cli'
  const cli = (await import(/* @vite-ignore */ cliPackage)) as { main: (meta: EntryMeta, recipe: Recipe) => Promise<void> }
  await cli.main(meta, recipe)
}
