// The start form: which recipe files the dashboard offers, the recipe's JSON Schema and current
// values (the page builds its fields from them), and the check a start goes through. The form
// sends `--set` flags, so a start is refused by exactly the checks `tunekit run --set …` makes.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { basename, extname, join, relative, resolve } from 'node:path'
import { fail, TunekitError, type Recipe } from '@tunekit/core'
import type { CliContext } from '../context.ts'
import { recipeExtensions } from '../load-recipe.ts'
import { missingInputs, prepareRecipe, type PreparedRecipe } from '../commands/recipe-flags.ts'
import { recipeJsonSchema } from '../commands/schema.ts'

/** A recipe file the dashboard may run: its id (as the page shows it) and the file. */
export interface OfferedRecipe {
  id: string
  file: string
}

const isRecipeFile = (file: string): boolean => (recipeExtensions as readonly string[]).includes(extname(file)) && !file.endsWith('.d.ts') && statSync(file).isFile()

/**
 * The recipe files to offer: those given (`tunekit ui a.ts b.json`), else the files of
 * `<root>/recipes` with a recipe extension. Only these can be started: a browser names one by id.
 */
export function offeredRecipes(root: string, given: readonly string[]): OfferedRecipe[] {
  const dir = join(root, 'recipes')
  const files = given.length > 0
    ? given.map((f) => resolve(root, f))
    : existsSync(dir) ? readdirSync(dir).map((f) => join(dir, f)).filter(isRecipeFile).sort() : []
  // A file outside the project is named by its file name when that is unique (pages and
  // screenshots then show no machine's paths), else by its absolute path.
  const unique = (file: string): boolean => files.filter((f) => basename(f) === basename(file)).length === 1
  return files.map((file) => {
    const rel = relative(root, file)
    return { id: rel && !rel.startsWith('..') ? rel.split('\\').join('/') : unique(file) ? basename(file) : file, file }
  })
}

/** The offered recipe of an id; UiRecipeNotOffered (TK721) for any other. */
export function offeredRecipe(offered: readonly OfferedRecipe[], id: string): OfferedRecipe {
  return offered.find((r) => r.id === id) ?? fail('UiRecipeNotOffered', { path: 'recipe', value: id }, id, offered.map((r) => r.id))
}

type Leaf = string | number | boolean | null | readonly (string | number | boolean)[]

const isLeaf = (v: unknown): v is Leaf =>
  v === null || ['string', 'number', 'boolean'].includes(typeof v) || (Array.isArray(v) && v.every((x) => ['string', 'number', 'boolean'].includes(typeof x)))

/** The recipe's values the form can show, by dotted key (scalars and lists of scalars; records and nested objects in lists are left out). */
export function formValues(value: unknown, prefix = ''): Record<string, Leaf> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {}
  const out: Record<string, Leaf> = {}
  for (const [key, v] of Object.entries(value)) {
    if (isLeaf(v)) out[`${prefix}${key}`] = v
    else Object.assign(out, formValues(v, `${prefix}${key}.`))
  }
  return out
}

let schema: Promise<Record<string, unknown>> | undefined

/** The recipe JSON Schema (`tunekit schema`), built once per server: its descriptions are the form's help text. */
export function formSchema(): Promise<Record<string, unknown>> {
  schema ??= recipeJsonSchema()
  return schema
}

/** The context a dashboard request runs the CLI's functions in: nothing printed, paths from the root. */
export function requestContext(root: string): CliContext {
  const quiet = (): void => {}
  return { out: quiet, err: quiet, cwd: root, signal: new AbortController().signal, exitCode: 0 }
}

/**
 * Loads the recipe with the `--set` flags applied, as `tunekit run` does (RecipeError with every
 * problem), and refuses it when its weights or data are not on this machine (the run would stop
 * before its first node with the same issues).
 */
export async function checkStart(root: string, file: string, set: readonly string[]): Promise<PreparedRecipe> {
  const prepared = await prepareRecipe(requestContext(root), file, { set: [...set] })
  const missing = missingInputs(prepared.recipe, prepared.baseDir)
  if (missing.length > 0) throw new TunekitError(missing, `Cannot run ${prepared.recipe.name}: inputs are not on this machine`)
  return prepared
}

/** The values of an offered recipe for the form (defaults filled in, as recipe.json holds them). */
export async function recipeValues(root: string, file: string): Promise<{ recipe: Recipe; values: Record<string, Leaf> }> {
  const { recipe } = await prepareRecipe(requestContext(root), file, {})
  return { recipe, values: formValues(recipe) }
}
