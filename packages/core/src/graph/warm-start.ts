// `lora.init` naming a PEFT adapter folder (a warm start, LLaMA-Factory's `adapter_name_or_path`):
// its adapter_config.json is checked against the recipe's LoRA options at compile, before any node
// runs, and its two files are read into the train node's key, so new adapter bytes retrain.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Recipe } from '../define.ts'
import { issue, TunekitError, type Issue } from '../errors/tunekit-error.ts'
import { familyInfo } from '../families/index.ts'
import { parseJsonText } from '../fs/json-text.ts'
import type { CompileOptions } from './options.ts'

/** The files of a PEFT LoRA adapter folder (save_pretrained's names). */
export const ADAPTER_FILES = ['adapter_config.json', 'adapter_model.safetensors'] as const

/** Whether a `lora.init` value names an adapter folder rather than a fresh initialisation. */
export const isWarmStart = (init: string): boolean => init !== 'default' && init !== 'gaussian'

/** The adapter folder of a warm start, resolved from the recipe's folder; undefined without one. */
export function warmStartDir(init: string, baseDir: string): string | undefined {
  return isWarmStart(init) ? resolve(baseDir, init) : undefined
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x) => b.includes(x))

/** adapter_config.json's target_modules as module names (`'all-linear'` expanded for the family). */
function adapterTargets(value: unknown, linear: readonly string[]): unknown {
  if (value === 'all-linear') return [...linear]
  if (typeof value === 'string') return [value]
  return Array.isArray(value) ? value.map(String) : value
}

/** Every mismatch of adapter_config.json with the recipe's LoRA options, each naming both values. */
function mismatches(init: string, json: Record<string, unknown>, recipe: Recipe): Issue[] {
  const lora = recipe.lora
  const linear = familyInfo(recipe.model.family)?.linearModules ?? []
  const targets = adapterTargets(json.target_modules, linear)
  const listed = json.modules_to_save === null || json.modules_to_save === undefined ? [] : json.modules_to_save
  // the rm stage adds the reward head `score` to the modules saved (stages/rm.ts): not the recipe's to list
  const saved = recipe.stage.kind === 'rm' && Array.isArray(listed) ? listed.filter((m) => m !== 'score') : listed
  const rows: [adapterKey: string, adapterValue: unknown, recipeKey: string, recipeValue: unknown, same: boolean][] = [
    ['r', json.r, 'lora.rank', lora.rank, json.r === lora.rank],
    ['lora_alpha', json.lora_alpha, 'lora.alpha', lora.alpha, json.lora_alpha === lora.alpha],
    ['target_modules', json.target_modules, 'lora.targetModules', lora.targetModules, Array.isArray(targets) && sameSet(targets as string[], lora.targetModules as readonly string[])],
    ['modules_to_save', json.modules_to_save ?? null, 'lora.modulesToSave', lora.modulesToSave, Array.isArray(saved) && sameSet(saved.map(String), lora.modulesToSave)],
    ['use_rslora', json.use_rslora ?? false, 'lora.rsLora', lora.rsLora, (json.use_rslora ?? false) === lora.rsLora],
    // a DoRA adapter holds magnitude vectors a LoRA one lacks, and scales its output by them
    ['use_dora', json.use_dora ?? false, 'lora.useDora', lora.useDora, (json.use_dora ?? false) === lora.useDora],
  ]
  return rows.filter((r) => !r[4]).map(([adapterKey, adapterValue, recipeKey, recipeValue]) => {
    // the fix names the value to write in the recipe: module lists as the adapter expands them
    const fix = adapterKey === 'target_modules' ? targets : adapterKey === 'modules_to_save' ? saved : adapterValue
    return issue('WarmStartMismatch', { path: recipeKey, value: recipeValue, hintArgs: [recipeKey, fix] }, init, adapterKey, adapterValue, recipeKey, recipeValue)
  })
}

/**
 * The files a warm start reads (hashed into the train node's key): none for `'default'` and
 * `'gaussian'`, else the adapter's two files once adapter_config.json is checked against the
 * recipe. Throws WarmStartNotAdapter or every WarmStartMismatch at once.
 */
export function warmStartReads(recipe: Recipe, opts: CompileOptions): string[] {
  if (recipe.method.kind !== 'lora') return []
  const init = recipe.lora.init
  const dir = warmStartDir(init, opts.baseDir)
  if (dir === undefined) return []
  const notAdapter = (why: string): never => {
    throw new TunekitError([issue('WarmStartNotAdapter', { path: 'lora.init', value: init }, init, why)])
  }
  // `why` names the folder as the recipe does (relative to its folder), not this machine's path
  if (!existsSync(dir)) notAdapter('it does not exist')
  if (!statSync(dir).isDirectory()) notAdapter('it is a file, not a folder')
  const files = ADAPTER_FILES.map((f) => join(dir, f))
  ADAPTER_FILES.forEach((f, i) => existsSync(files[i]!) || notAdapter(`it has no ${f}`))
  const parsed = parseJsonText(readFileSync(files[0]!, 'utf8'))
  if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) return notAdapter(`its adapter_config.json is not a JSON object`)
  const json = parsed.value as Record<string, unknown>
  if (json.peft_type !== 'LORA') notAdapter(`its adapter_config.json has peft_type ${JSON.stringify(json.peft_type)}, not "LORA"`)
  // PiSSA-style starts (PEFT saved without path_initial_model_for_weight_conversion): A and B fit
  // PEFT's residual base, so on the original base they would be another model
  const start = json.init_lora_weights
  if (typeof start === 'string' && /^(pissa|olora|corda|loftq)/i.test(start)) {
    throw new TunekitError([issue('WarmStartUnconverted', { path: 'lora.init', value: init }, init, start)])
  }
  // LoftQ (hf's peft/loftq.ts): a plain LoRA of the replaced base the folder keeps beside it, not of the model's own
  if (existsSync(join(dir, 'loftq_base.safetensors'))) throw new TunekitError([issue('WarmStartLoftq', { path: 'lora.init', value: init }, init)])
  const found = mismatches(init, json, recipe)
  if (found.length > 0) throw new TunekitError(found)
  return files
}
