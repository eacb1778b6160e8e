import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, extname, join, resolve } from 'node:path'
import { fail, isTunekitError, parseRecipe, type Recipe } from '@tunekit/core'
import type { CliContext } from './context.ts'
import { importRecipeModule } from './recipe-import.ts'

/** Extensions of recipe files: TypeScript (or JavaScript) modules, JSON and YAML data. */
export const recipeExtensions = ['.ts', '.mts', '.js', '.mjs', '.json', '.yaml', '.yml'] as const

const isModule = (file: string): boolean => ['.ts', '.mts', '.js', '.mjs'].includes(extname(file))

/** The nearest tsconfig.json at or above `dir`, if any. */
export function findTsconfig(dir: string): string | undefined {
  for (let cur = resolve(dir); ; cur = dirname(cur)) {
    const candidate = join(cur, 'tsconfig.json')
    if (existsSync(candidate)) return candidate
    if (dirname(cur) === cur) return undefined
  }
}

const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * The recipe object a file holds, not yet validated: a module's `recipe` or default export, or
 * the data of a JSON / YAML file (its `$schema` key, there for editors, is dropped).
 *
 * Importing a module runs its top level but not the recipe: `await main(import.meta, recipe)`
 * only runs when the file is the process entry point. A `RecipeError` thrown while importing
 * (`defineRecipe` found mistakes) is rethrown as is. The recipe's own files are evaluated again on
 * every call (an edit, or a file or variable its top level reads, is seen); the packages it imports
 * are evaluated once per process (recipe-import.ts).
 */
export async function readRecipeFile(file: string): Promise<unknown> {
  if (!existsSync(file)) fail('RecipeFileNotFound', { value: file }, file)
  if (isModule(file)) {
    let mod: Record<string, unknown>
    try {
      mod = await importRecipeModule(file, findTsconfig(dirname(file)))
    } catch (e) {
      if (isTunekitError(e)) throw e
      return fail('RecipeLoad', {}, file, reason(e))
    }
    const value = mod.recipe ?? mod.default
    if (value === undefined) fail('RecipeLoad', {}, file, 'the module exports neither `recipe` nor a default export')
    return value
  }
  const text = await readFile(file, 'utf8')
  let data: unknown
  try {
    if (extname(file) === '.json') data = JSON.parse(text)
    else if (['.yaml', '.yml'].includes(extname(file))) data = (await import('yaml')).parse(text)
    else fail('NotARecipeFile', { value: file }, file, recipeExtensions)
  } catch (e) {
    if (isTunekitError(e)) throw e
    return fail('RecipeLoad', {}, file, reason(e))
  }
  if (data !== null && typeof data === 'object' && !Array.isArray(data) && '$schema' in data) {
    const { $schema: _, ...rest } = data as Record<string, unknown>
    data = rest
  }
  return data
}

/** Loads and validates a recipe file; throws a `RecipeError` listing every problem. */
export async function loadRecipe(file: string): Promise<Recipe> {
  return parseRecipe(await readRecipeFile(file))
}

/**
 * The recipe a command works on: the file given on the command line, else the recipe of the file
 * that called `main()`. `file` is absolute.
 */
export async function recipeFor(ctx: CliContext, file: string | undefined, verb: string): Promise<{ recipe: Recipe; file: string }> {
  if (file !== undefined) {
    const abs = resolve(ctx.cwd, file)
    return { recipe: await loadRecipe(abs), file: abs }
  }
  if (ctx.preset) return ctx.preset
  return fail('NoRecipeGiven', { hintArgs: [verb] }, verb)
}
