import type { Recipe } from '../define.ts'
import type { GraphBuilder } from '../graph/builder.ts'
import { warmStartReads } from '../graph/warm-start.ts'
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

/**
 * The train node of a preference stage, after `inputs` (dpo's include its ref-logprobs node): the
 * stage's options are its `objective`, and a `lora.init` folder's files are in its reads.
 */
export function addPreferenceTrain(b: GraphBuilder, recipe: Recipe, inputs: string[]): Promise<string> {
  const { stage } = recipe
  const objective = stage.kind === 'dpo' || stage.kind === 'orpo' || stage.kind === 'simpo' ? stage : undefined
  return b.add('train', inputs, { ...(objective ? { extra: { objective } } : {}), reads: warmStartReads(recipe, b.options) })
}
