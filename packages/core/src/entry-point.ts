/** The part of `import.meta` that `main` (in @tunekit/cli) and {@link isEntryPoint} read. */
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
