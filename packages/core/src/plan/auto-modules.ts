// Plan-time checks and counts of family 'auto': the module names and shapes come from the model
// folder's safetensors headers (read by the caller's `weightShapes`: core reads no safetensors).
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { issue, type Issue } from '../errors/tunekit-error.ts'
import { probedFamily, type WeightShapes } from '../families/auto.ts'
import type { FamilyInfo, ModelConfig } from '../families/types.ts'
import type { MethodOptions } from '../methods/index.ts'

/** Reads a model folder's weight names and shapes from its safetensors headers (hf's `readWeightShapes`). */
export type WeightShapeReader = (dir: string) => WeightShapes

/**
 * The folder's family entry and the recipe's module names checked against it: every
 * `targetModules` name must match a linear module of the decoder layers (AutoModuleNotFound, with
 * the names there are); a `modulesToSave` name outside the stored modules is a warning.
 */
export function probeAutoFamily(dir: string, config: ModelConfig, method: MethodOptions, read: WeightShapeReader): { family: FamilyInfo; issues: Issue[] } {
  const family = probedFamily(config, read(dir))
  const issues: Issue[] = []
  if (method.kind !== 'lora') return { family, issues }
  // a list: 'all-linear' and the default are AutoNeedsTargetModules at check time
  const targets: readonly string[] = Array.isArray(method.targetModules) ? method.targetModules : []
  targets.forEach((m, i) => {
    if (family.linearShapes(config, m).length > 0) return
    issues.push(issue('AutoModuleNotFound', { path: `lora.targetModules[${i}]`, value: m, hintArgs: [m, family.linearModules] }, m, dir, config.modelType, family.linearModules, "linear modules of its decoder layers' weights"))
  })
  // A warning only: transformers 5 renames some stored heads when it loads them (gpt_neox's stored
  // embed_out is the module lm_head), so the worker checks these against the loaded model's modules.
  method.modulesToSave.forEach((m, i) => {
    if (family.saveableModules.includes(m)) return
    issues.push(issue('AutoModuleNotFound', { path: `lora.modulesToSave[${i}]`, value: m, severity: 'warning', hintArgs: [m, family.saveableModules] }, m, dir, config.modelType, family.saveableModules, 'modules of its weights outside the decoder layers (as stored; the worker checks the loaded names)'))
  })
  return { family, issues }
}

/**
 * Family 'auto' with chat data and no `data.template`: the checkpoint's own chat_template, which
 * its tokenizer_config.json must hold (AutoTemplateMissing otherwise; the tokenize node says the same).
 */
export function autoTemplateIssues(dir: string, template: unknown): Issue[] {
  if (template !== 'model') return []
  const file = join(dir, 'tokenizer_config.json')
  let own: unknown
  try {
    own = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { chat_template?: unknown }).chat_template : undefined
  } catch {
    return [] // a malformed tokenizer_config.json is the inspector's MalformedTokenizer
  }
  const present = typeof own === 'string' || (Array.isArray(own) && own.length > 0)
  return present ? [] : [issue('AutoTemplateMissing', { path: 'data.template', value: 'model' }, file)]
}
