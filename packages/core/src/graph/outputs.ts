import type { Recipe } from '../define.ts'
import type { GraphBuilder } from './builder.ts'
import { methodMerges } from '../methods/index.ts'
import { scoreParams } from '../nodes/score.ts'

/** Whether the graph has a merge node: `output.merge`, for a method that merges (prompt tuning does not). */
export const merges = (recipe: Recipe): boolean => recipe.output.merge && methodMerges(recipe.method)

/** Whether the recipe holds out an eval set (a share or count of the records, or the source's own split). */
export const hasEvalSet = (recipe: Recipe): boolean => recipe.data.split.eval > 0 || (recipe.data.split.evalSplit !== undefined && recipe.data.source.kind === 'hub')

/**
 * The nodes after training, whatever the stage: `eval` (with an eval set: eval loss and perplexity
 * of the trained model), `merge` (`output.merge`), `generate` (`output.samples`; without a merged
 * model, the base model plus the adapter answers) and `export` (`output.gguf`: GGUF files of the
 * merged model).
 */
export async function addOutputNodes(b: GraphBuilder, recipe: Recipe, trained: string): Promise<void> {
  // A preference stage batches its pairs itself (no split, no collate): nothing is held out.
  if (hasEvalSet(recipe) && b.has('collate')) await b.add('eval', ['model', trained, 'tokenize', 'split', 'collate'])
  if (merges(recipe)) await b.add('merge', ['model', trained, 'tokenize'])
  if (recipe.output.samples.length > 0) await b.add('generate', merges(recipe) ? ['merge', 'tokenize'] : ['model', trained, 'tokenize'])
  // checkRecipe has refused output.gguf without output.merge (GgufNeedsMerge)
  if (recipe.output.gguf.length > 0) await b.add('export', ['merge'])
  if (recipe.eval && hasEvalSet(recipe) && b.has('split')) await addScoreNodes(b, recipe, trained)
}

/**
 * The `eval` group's nodes: `score` (the trained model: the merged one when there is one, else the
 * base plus the train artifact) and, with `eval.base`, `score-base` (the base weights alone, after
 * the data nodes only: `tunekit eval --base` trains nothing). Both read the held-out set (split) and
 * the conversations and tokenizer it came from: the source's own eval chain when it has one.
 */
async function addScoreNodes(b: GraphBuilder, recipe: Recipe, trained: string): Promise<void> {
  const held = b.has('eval-tokenize') ? ['eval-format', 'eval-tokenize', 'split'] : ['format', 'tokenize', 'split']
  const answering = merges(recipe) ? ['merge'] : ['model', trained]
  await b.add('score', [...answering, ...held])
  if (recipe.eval?.base) await b.add('score', ['model', ...held], { id: 'score-base', params: scoreParams(recipe, 'base') })
}
