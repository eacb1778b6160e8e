import type { Recipe } from '../define.ts'
import type { GraphBuilder } from '../graph/builder.ts'
import { addSourceNodes } from './data-nodes.ts'

/**
 * model, source → format → tokenize with the preference render (the prompt stored once per pair):
 * where every stage that trains on preference pairs starts (dpo, orpo, simpo). Pairs are batched
 * in record order by the train node itself: no split or collate (the batch plan is over chat
 * samples, not pairs).
 */
export async function addPreferenceNodes(b: GraphBuilder, recipe: Recipe): Promise<void> {
  const { data } = recipe
  await addSourceNodes(b, recipe)
  if (data.template === undefined) throw new Error(`${recipe.stage.kind}: a recipe reached compile without data.template (parseRecipe fills it from the stage)`)
  const render = { kind: 'preference' as const, template: data.template, maxPromptLength: data.maxPromptLength }
  await b.add('tokenize', ['format', 'model'], { extra: { render } })
}
