import { existsSync, statSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import { Option, type Command } from 'commander'
import {
  compile,
  extendRecipe,
  fail,
  file as fileSource,
  isTunekitError,
  findDatasetDir,
  findModelDir,
  issue,
  listDataFiles,
  noDataFilesIssue,
  parseRecipe,
  type Graph,
  type Issue,
  type PlanOptions,
  type Recipe,
  type RecipeOverrides,
} from '@tunekit/core'
import { checkModelFolder, inspectModelFolder, readWeightShapes } from '@tunekit/hf'
import { recipeFor } from '../load-recipe.ts'
import type { CliContext } from '../context.ts'

/** Flags shared by every command that works on a recipe (run, plan, graph, merge). */
export interface RecipeFlags {
  modelPath?: string
  dataPath?: string
  backend?: 'auto' | 'tfjs' | 'torch'
  /** Set by `tunekit eval`: the recipe must have an eval group; `'base'` (`--base`) turns on its base row. */
  evalModel?: 'trained' | 'base'
  /** `--set key=value` overrides (dotted recipe keys), applied to the recipe before the other flags. */
  set?: string[]
  /** The per-machine values of the recipe's `distributed` group (torchrun's flags of the same names). */
  nprocPerNode?: number
  nnodes?: number
  nodeRank?: number
  masterAddr?: string
  masterPort?: number
}

/** A recipe's keys to override, nested as the recipe holds them (`{ args: { maxSteps: 20 } }`). */
export type RecipeOverridesData = { [key: string]: unknown }

/** A `--set` value: JSON when it parses (numbers, booleans, quoted text, lists, objects), else the text itself. */
function setValue(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/**
 * The overrides of `--set key=value` flags, nested by the keys' dots (`args.maxSteps=20` →
 * `{ args: { maxSteps: 20 } }`); a later flag for the same key wins. BadSetFlag (TK720) for a flag
 * without `=` or with an empty key part.
 */
export function parseSetFlags(flags: readonly string[]): RecipeOverridesData {
  const out: RecipeOverridesData = {}
  for (const flag of flags) {
    const eq = flag.indexOf('=')
    const keys = eq > 0 ? flag.slice(0, eq).split('.') : []
    if (keys.length === 0 || keys.some((k) => k.trim() === '')) fail('BadSetFlag', { path: '--set', value: flag }, flag)
    let at = out
    for (const key of keys.slice(0, -1)) {
      const next = at[key]
      at = next !== null && typeof next === 'object' && !Array.isArray(next) ? (next as RecipeOverridesData) : (at[key] = {})
    }
    at[keys[keys.length - 1]!] = setValue(flag.slice(eq + 1))
  }
  return out
}

/** `recipe` with `overrides` applied and validated again (objects merged, arrays replaced): RecipeError with every problem, as for the file itself. */
export function applyOverrides(recipe: Recipe, overrides: RecipeOverridesData): Recipe {
  return Object.keys(overrides).length === 0 ? recipe : extendRecipe(recipe, overrides as RecipeOverrides<Recipe['model']['family']>)
}

/** The distributed keys the command line sets, by flag. */
const DISTRIBUTED_FLAGS = ['nprocPerNode', 'nnodes', 'nodeRank', 'masterAddr', 'masterPort'] as const

/** A whole number for a command-line flag (zod then checks its range, with the recipe's path). */
const wholeNumber = (value: string): number => (/^\d+$/.test(value) ? Number(value) : Number.NaN)

/** Adds `--model-path`, `--data-path` and `--backend` to a command. */
export function addRecipeFlags(cmd: Command): Command {
  return cmd
    .option('--model-path <folder>', 'local folder with the model weights (Hugging Face layout); overrides model.path and TUNEKIT_MODEL_PATH')
    .option('--data-path <path>', 'local data file or folder (json, jsonl, csv, parquet) instead of data.source')
    .addOption(new Option('--backend <name>', 'compute backend, overriding the recipe').choices(['auto', 'tfjs', 'torch']))
    .option('--set <key=value>', 'override a recipe key (dotted: args.maxSteps=20; the value is read as JSON when it parses); repeatable', (v: string, all: string[] = []) => [...all, v])
    .option('--nproc-per-node <n>', "processes on this machine under torchrun (sets distributed.nprocPerNode)", wholeNumber)
    .option('--nnodes <n>', 'machines taking part (sets distributed.nnodes)', wholeNumber)
    .option('--node-rank <i>', "this machine's index, 0 to nnodes − 1 (sets distributed.nodeRank)", wholeNumber)
    .option('--master-addr <host>', 'address of machine 0 (sets distributed.masterAddr)')
    .option('--master-port <port>', "machine 0's rendezvous port (sets distributed.masterPort)", wholeNumber)
}

/** A recipe ready to compile: the command-line flags applied, paths resolved. */
export interface PreparedRecipe {
  recipe: Recipe
  /** The recipe file (absolute). */
  file: string
  /** Folder of the recipe file: relative paths in the recipe resolve from it. */
  baseDir: string
  /** `output.cacheDir`, absolute (relative to the working directory). */
  cacheDir: string
  /** `output.dir` or `runs/<name>`, absolute (relative to the working directory). */
  runDir: string
}

/**
 * Loads the recipe (a file argument, or the one `main()` preset) and applies the flags: a model
 * path, a data path (a local `file()` source; the Hub's own test split no longer applies), a backend.
 */
export async function prepareRecipe(ctx: CliContext, fileArg: string | undefined, flags: RecipeFlags, verb = 'run'): Promise<PreparedRecipe> {
  const { recipe: given, file } = await recipeFor(ctx, fileArg, verb)
  const loaded = applyOverrides(given, parseSetFlags(flags.set ?? []))
  let input: Record<string, unknown> = { ...loaded }
  if (flags.modelPath !== undefined) input = { ...input, model: { ...loaded.model, path: resolve(ctx.cwd, flags.modelPath) } }
  if (flags.dataPath !== undefined) {
    const { evalSplit: _hubOnly, ...split } = loaded.data.split
    input = { ...input, data: { ...loaded.data, source: fileSource(resolve(ctx.cwd, flags.dataPath)), split } }
  }
  if (flags.backend !== undefined) input = { ...input, backend: flags.backend }
  if (flags.evalModel !== undefined && !loaded.eval) fail('NoEvalGroup', { path: 'eval' }, loaded.name)
  if (flags.evalModel === 'base') input = { ...input, eval: { ...loaded.eval, base: true } }
  // a distributed flag adds the group when the recipe has none (its other keys take their defaults)
  const distributed = Object.fromEntries(DISTRIBUTED_FLAGS.flatMap((key) => (flags[key] === undefined ? [] : [[key, flags[key]]])))
  if (Object.keys(distributed).length > 0) input = { ...input, distributed: { ...loaded.distributed, ...distributed } }
  const changed = flags.modelPath !== undefined || flags.dataPath !== undefined || flags.backend !== undefined || flags.evalModel === 'base' || Object.keys(distributed).length > 0
  const recipe = changed ? parseRecipe(input) : loaded
  return {
    recipe,
    file,
    baseDir: dirname(file),
    cacheDir: resolve(ctx.cwd, recipe.output.cacheDir),
    runDir: resolve(ctx.cwd, recipe.output.dir ?? `runs/${recipe.name}`),
  }
}

/** Compiles a prepared recipe (reads no weights; hashes data and tokenizer files). */
export function compilePrepared(p: PreparedRecipe): Promise<Graph> {
  return compile(p.recipe, { baseDir: p.baseDir, cacheDir: p.cacheDir })
}

/**
 * What a run needs and this machine lacks: pretrained weights that are in no local folder or Hub
 * cache, a Hub dataset that is not cached while downloads are off (or while the weights are
 * missing anyway, so the user learns everything at once), local data files that do not exist or
 * a data folder that holds none, and a dataset_info.json that is not there. A random model needs
 * nothing.
 */
export function missingInputs(recipe: Recipe, baseDir: string, env: Record<string, string | undefined> = process.env): Issue[] {
  const issues: Issue[] = []
  let modelMissing = false
  if (!recipe.model.random) {
    const found = findModelDir(recipe.model, baseDir, env)
    if (!found.dir) {
      modelMissing = true
      issues.push(issue('ModelNotFound', { path: 'model.id', value: recipe.model.id, hintArgs: [recipe.model.id] }, recipe.model.id, found.looked))
    }
  }
  const source = recipe.data.source
  if (source.kind === 'hub') {
    const found = findDatasetDir(source.repo, source.revision, env)
    const offline = ['1', 'true', 'yes'].includes((env.HF_HUB_OFFLINE ?? '').toLowerCase())
    if (!found.dir && (offline || modelMissing)) {
      issues.push(issue('DatasetNotFound', { path: 'data.source', value: source.repo, hintArgs: [source.repo] }, source.repo, found.looked))
    }
  }
  if (source.kind === 'file') {
    // Resolved as the source node resolves them: a relative path is read from the recipe's folder.
    for (const [i, path] of (Array.isArray(source.path) ? source.path : [source.path]).entries()) {
      const full = isAbsolute(path) ? path : resolve(baseDir, path)
      const at = Array.isArray(source.path) ? `data.source.path[${i}]` : 'data.source.path'
      if (!existsSync(full)) issues.push(issue('DataFileNotFound', { path: at, value: path }, full))
      else if (statSync(full).isDirectory() && listDataFiles(full, at).length === 0) issues.push(noDataFilesIssue(full, at, path))
    }
  }
  const format = recipe.data.format
  if (typeof format === 'object' && format.kind === 'dataset-info') {
    const full = isAbsolute(format.file) ? format.file : resolve(baseDir, format.file)
    if (!existsSync(full)) issues.push(issue('DataFileNotFound', { path: 'data.format.file', value: format.file }, full))
  }
  return issues
}

/** What `plan` runs on a local model folder beyond config.json: the weights' headers and the tokenizer files. */
export const modelInspector: NonNullable<PlanOptions['inspectModel']> = inspectModelFolder

/** What `plan` reads a local folder's weight names and shapes with: family 'auto' counts and checks its modules from them. */
export const weightShapeReader: NonNullable<PlanOptions['weightShapes']> = readWeightShapes

/**
 * The problems of the recipe's local model folder, when there is one (config.json, weights'
 * headers, tokenizer files); none for a random model or weights not on this machine.
 */
export function modelFolderIssues(recipe: Recipe, baseDir: string, env: Record<string, string | undefined> = process.env): Issue[] {
  if (recipe.model.random) return []
  const found = findModelDir(recipe.model, baseDir, env)
  if (!found.dir) return []
  try {
    return checkModelFolder(found.dir, recipe.model.family).warnings
  } catch (e) {
    if (!isTunekitError(e)) throw e
    return [...e.issues]
  }
}
