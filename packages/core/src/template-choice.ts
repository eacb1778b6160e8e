// Which chat template a resolved recipe renders with, and why: parseRecipe fills `data.template`
// where a recipe leaves it out (families/default-template.ts) and marks the recipe with the rule.
import type { DefaultTemplate } from './families/default-template.ts'
import type { Json } from './json.ts'

/** The mark parseRecipe leaves on a recipe whose `data.template` it filled: the rule that chose it. */
export const DEFAULT_TEMPLATE = Symbol.for('tunekit.defaultTemplate')

/** The template a recipe's chat data is rendered with and the rule that chose it (graph.json's `template`). */
export interface ChosenTemplate {
  template: Json
  rule: string
}

/** A recipe (or recipe input) as templateChoice reads it: its `data.template` and parseRecipe's mark, if any. */
export type TemplateMarked = { data: { template?: unknown; format?: unknown }; [DEFAULT_TEMPLATE]?: DefaultTemplate }

const sameTemplate = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

/**
 * The rule behind a resolved recipe's `data.template`: the default's (parseRecipe's mark), else
 * what the recipe says; undefined where nothing renders chat (pretrain, tokens, qa).
 */
export function templateChoice(recipe: TemplateMarked): ChosenTemplate | undefined {
  const template = recipe.data.template
  if (template === undefined) return undefined
  const filled = recipe[DEFAULT_TEMPLATE]
  if (filled && sameTemplate(filled.template, template)) return { template: filled.template, rule: filled.rule }
  return { template: template as Json, rule: 'set in data.template' }
}

/** A recipe input without the `data.template` parseRecipe filled, so parsing it again chooses again (its model may have changed). */
export function withoutFilledTemplate<T extends TemplateMarked>(input: T): T {
  const filled = input[DEFAULT_TEMPLATE]
  if (!filled || !sameTemplate(filled.template, input.data.template)) return input
  const { template: _filled, ...data } = input.data
  const { [DEFAULT_TEMPLATE]: _mark, ...rest } = input
  return { ...rest, data } as T
}
