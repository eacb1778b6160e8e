// The chat template a recipe gets where it leaves `data.template` out (and its stage renders
// chat), in the order docs/chat-templates.md ("Choosing a template") gives.
import type { BuiltinTemplateName } from '../schema/template-names.ts'
import { knownCheckpoints } from './checkpoints.ts'
import { familyInfo } from './index.ts'
import { randomConfigJson } from './random-config.ts'
import type { ModelConfig } from './types.ts'

/** The template chosen for a recipe that leaves `data.template` out, and the rule that chose it. */
export interface DefaultTemplate {
  template: BuiltinTemplateName | 'model'
  /** Which rule chose it, in words (`plan`, the checks table and template errors print it). */
  rule: string
  /**
   * The family's config decides (llama: Llama 3's `llama-3`) and the config was not known when this
   * was chosen: `compile` chooses again once it reads the model folder's config.json.
   */
  awaitsConfig?: true
}

/** What the choice reads of a recipe. */
export interface TemplateInputs {
  family: string
  /** `model.id`: a checkpoint the registry knows brings its own template. */
  id: string
  /** `tokens.chatml`: ChatML's tokens are added to train in ChatML. */
  chatml: boolean
  /** The model's config where it is known (the registry's, with `model.random.config` on top; a local config.json). */
  config?: ModelConfig
}

/**
 * The default template, by the first rule that applies: 1. `tokens.chatml: true` → `chatml`;
 * 2. a chat checkpoint the registry knows by id → the built-in its chat_template is; 3. the
 * family's default (llama's decided by the config where it is known). Undefined for a family with
 * none (bert): the stage's `chatml` then.
 */
export function defaultTemplate(r: TemplateInputs): DefaultTemplate | undefined {
  if (r.chatml) return { template: 'chatml', rule: "tokens.chatml: true adds ChatML's tokens to train in ChatML" }
  const known = knownCheckpoints[r.id]
  if (known?.chatTemplate) return { template: known.chatTemplate, rule: `${r.id}'s own chat template (the chat_template it ships)` }
  const family = familyInfo(r.family)
  if (family?.defaultTemplate === undefined) return undefined
  const own = family.defaultTemplate === 'model' ? "the checkpoint's own tokenizer_config.json chat_template" : 'its chat models\' template'
  if (family.configTemplate === undefined) return { template: family.defaultTemplate, rule: `family ${family.name}'s default (${own})` }
  if (r.config === undefined) return { template: family.defaultTemplate, rule: `family ${family.name}'s default (the config is not known yet; compile reads config.json for Llama 3)`, awaitsConfig: true }
  const byConfig = family.configTemplate(r.config)
  return byConfig
    ? { template: byConfig.template, rule: `family ${family.name}'s default for ${byConfig.because}` }
    : { template: family.defaultTemplate, rule: `family ${family.name}'s default (${own}; the config does not show Llama 3)` }
}

/**
 * The config a recipe's model has before any file is read: a known checkpoint's, with
 * `model.random.config` on top for a random model; a random model of an unknown id from its
 * `random.config` alone when that is a whole config. Undefined otherwise (a local folder's
 * config.json is read at compile).
 */
export function configAtParse(model: { id: string; family: string; random?: { config: Record<string, unknown> } | undefined }): ModelConfig | undefined {
  const known = knownCheckpoints[model.id]
  const family = familyInfo(model.family)
  if (model.random === undefined || family === undefined) return known?.config
  try {
    const base: Record<string, unknown> = known ? family.writeConfig(known.config) : { model_type: model.family }
    return family.readConfig(randomConfigJson(base, model.random.config))
  } catch {
    // a partial random.config of an unknown id: the model node says what it lacks
    return undefined
  }
}
