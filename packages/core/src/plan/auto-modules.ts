// Plan-time checks and counts of family 'auto': the module names and shapes come from the model
// folder's safetensors headers (read by the caller's `weightShapes`: core reads no safetensors).
import { issue, type Issue } from '../errors/tunekit-error.ts'
import { probedFamily, type WeightShapes } from '../families/auto.ts'
import type { FamilyInfo, ModelConfig } from '../families/types.ts'
import type { MethodOptions } from '../methods/index.ts'

/** Reads a model folder's weight names and shapes from its safetensors headers (hf's `readWeightShapes`). */
export type WeightShapeReader = (dir: string) => WeightShapes

/**
 * The folder's family entry and the recipe's module names checked against it: every
 * `targetModules` name must match a linear module of the decoder layers, every `modulesToSave`
 * name a module outside them (AutoModuleNotFound, with the names there are).
 */
export function probeAutoFamily(dir: string, config: ModelConfig, method: MethodOptions, read: WeightShapeReader): { family: FamilyInfo; issues: Issue[] } {
  const family = probedFamily(config, read(dir))
  const issues: Issue[] = []
  if (method.kind !== 'lora') return { family, issues }
  const notFound = (module: string, path: string, names: readonly string[]): Issue =>
    issue('AutoModuleNotFound', { path, value: module, hintArgs: [module, names] }, module, dir, config.modelType, names)
  // a list: 'all-linear' and the default are AutoNeedsTargetModules at check time
  const targets: readonly string[] = Array.isArray(method.targetModules) ? method.targetModules : []
  targets.forEach((m, i) => {
    if (family.linearShapes(config, m).length === 0) issues.push(notFound(m, `lora.targetModules[${i}]`, family.linearModules))
  })
  method.modulesToSave.forEach((m, i) => {
    if (!family.saveableModules.includes(m)) issues.push(notFound(m, `lora.modulesToSave[${i}]`, family.saveableModules))
  })
  return { family, issues }
}
