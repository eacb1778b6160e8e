import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Recipe } from '../define.ts'
import { defaultTemplate } from '../families/default-template.ts'
import { familyInfo } from '../families/index.ts'
import { findModelDir } from '../hub-cache.ts'
import { DEFAULT_TEMPLATE } from '../template-choice.ts'
import type { CompileOptions } from './options.ts'

/**
 * The recipe with its default template chosen again from the model folder's config.json, where
 * parseRecipe chose without a config and the family's config decides (llama: Llama 3's `llama-3`).
 * Unchanged when the folder or its config.json is not here (the plan says the config is not known).
 */
export function withModelConfigTemplate(recipe: Recipe, opts: CompileOptions): Recipe {
  const marked = recipe as Recipe & { [DEFAULT_TEMPLATE]?: ReturnType<typeof defaultTemplate> }
  const filled = marked[DEFAULT_TEMPLATE]
  if (!filled?.awaitsConfig || recipe.init !== undefined) return recipe
  const { dir } = findModelDir(recipe.model, opts.baseDir, opts.env)
  const family = familyInfo(recipe.model.family)
  if (dir === null || family === undefined || !existsSync(join(dir, 'config.json'))) return recipe
  let config
  try {
    config = family.readConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>)
  } catch {
    // a config.json that does not read: the model node's checks report it (plan, run)
    return recipe
  }
  const chosen = defaultTemplate({ family: recipe.model.family, id: recipe.model.id, chatml: recipe.tokens.chatml, config })
  if (!chosen) return recipe
  return Object.freeze({ ...recipe, data: Object.freeze({ ...recipe.data, template: chosen.template }), [DEFAULT_TEMPLATE]: chosen }) as Recipe
}
