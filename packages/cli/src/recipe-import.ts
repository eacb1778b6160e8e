import { register as registerHooks } from 'node:module'
import { pathToFileURL } from 'node:url'

/**
 * Imports TypeScript recipe modules in a long-lived process (the in-process CLI, `tunekit ui`, the
 * tests), cheaply and without stale results.
 *
 * `tsImport` gives every call a fresh tsx namespace, and a namespace tags every module it
 * resolves, packages included: each load evaluated @tunekit/core, zod and the rest again (1–2 s
 * a load) and left one more loader hook registered for good. Here one tsx namespace per tsconfig
 * lives for the process, and each load is a generation: the recipe file is imported with
 * `?tunekit-load=<n>`, and the resolve hook below hands that tag on to every module the recipe's
 * own code names by path (`./helpers.ts`, `../tiny-chat.ts`, `/abs/x.ts`, `file:` URLs). So on
 * every load the user's files are evaluated afresh — a file edited, a data file or an environment
 * variable read at top level is seen as the first time — while what they name by package
 * (`@tunekit/core`, `zod`, a `paths` alias) is a library, evaluated once per process as any
 * import is. The cost of a load is then the recipe's own files (milliseconds for tiny-chat).
 *
 * A recipe that Node reads as CommonJS (no `"type": "module"` above it) is re-evaluated too, but
 * the files it `require`s stay in require's cache, as they did with `tsImport`.
 */
const GENERATION = 'tunekit-load'

// Runs in Node's loader thread, so it is plain JavaScript with no imports; a data: URL because
// the package's build (tsc) emits no .mjs next to its .js. Only a specifier that is a path passes
// the tag on: a bare one resolves to a package, shared by every generation.
const hooks = `
const GENERATION = ${JSON.stringify(GENERATION)}
const byPath = /^(\\.{1,2}[\\\\/]|[\\\\/]|file:)/
export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context)
  if (!context.parentURL || !byPath.test(specifier) || !resolved.url.startsWith('file:')) return resolved
  const generation = new URL(context.parentURL).searchParams.get(GENERATION)
  const url = new URL(resolved.url)
  if (generation === null || url.searchParams.has(GENERATION)) return resolved
  url.searchParams.set(GENERATION, generation)
  return { ...resolved, url: url.href }
}`

type ScopedImport = (specifier: string, parentURL: string) => Promise<unknown>

/** One tsx namespace per tsconfig (`''`: none found), created on first use. */
const namespaces = new Map<string, Promise<ScopedImport>>()
let hooksRegistered = false
let generation = 0

async function namespaceFor(tsconfig: string | undefined): Promise<ScopedImport> {
  const key = tsconfig ?? ''
  let scoped = namespaces.get(key)
  if (!scoped) {
    const namespace = `tunekit-recipes-${namespaces.size}`
    scoped = (async () => {
      const { register } = await import('tsx/esm/api')
      const api = register({ namespace, ...(tsconfig ? { tsconfig } : {}) })
      // after tsx's: hooks registered later run first, and this one only adds a query parameter
      if (!hooksRegistered) registerHooks(`data:text/javascript,${encodeURIComponent(hooks)}`)
      hooksRegistered = true
      return api.import
    })()
    namespaces.set(key, scoped)
  }
  return scoped
}

/**
 * The module namespace of a TypeScript (or JavaScript) recipe file, its own files evaluated afresh
 * (see above); `tsconfig` is the one that applies to it (its `paths`, its compiler options).
 */
export async function importRecipeModule(file: string, tsconfig: string | undefined): Promise<Record<string, unknown>> {
  const scopedImport = await namespaceFor(tsconfig)
  generation += 1
  const url = `${pathToFileURL(file).href}?${GENERATION}=${generation}`
  return (await scopedImport(url, import.meta.url)) as Record<string, unknown>
}
