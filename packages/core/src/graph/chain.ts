// A recipe chain (`init: { recipe }`, sft → dpo; docs/graph.md, "Recipe chains"): the chained
// recipe's graph is compiled as it would be alone and included in this one, each node id prefixed
// with that recipe's name and `/` (`tiny-chat/train`), each key unchanged, so that the two recipes
// share their cache entries. Its adapter is merged into its base (its `merge` node, or one added
// with its merge params), and this recipe's `model` node points at that merged folder: the base
// this recipe trains a new adapter on and, with adapters off, the reference of a preference stage
// (TRL's "merge the SFT adapter, then train a new one" for sft → dpo with PEFT).
import type { Recipe } from '../define.ts'
import { mergeNode } from '../nodes/merge.ts'
import type { GraphBuilder } from './builder.ts'
import { modelReadPaths } from './reads.ts'
import type { GraphNode } from './types.ts'

/** A recipe's nodes and the id of its trained node, as compile builds them. */
export interface CompiledNodes {
  nodes: GraphNode[]
  trained: string
}

/** The recipe `init.recipe` names, as parseRecipe resolved it; undefined without a chain. */
export const chainedRecipe = (recipe: Recipe): Recipe | undefined => recipe.init?.recipe as Recipe | undefined

/** The id of a chained recipe's node `id` inside this graph. */
export const chainedId = (up: Recipe, id: string): string => `${up.name}/${id}`

/**
 * Includes the chained recipe's graph (compiled by `compileNodes`, the same hasher) and returns the
 * id of its merged model: its own `merge` node, or `<name>/merge` added when it does not merge
 * (`output.merge: false`), with its params, so that its key is what its own merge's would be.
 */
export async function addChainedRecipe(b: GraphBuilder, up: Recipe, compileNodes: (recipe: Recipe) => Promise<CompiledNodes>): Promise<string> {
  const { nodes, trained } = await compileNodes(up)
  b.include(nodes, `${up.name}/`)
  const merged = chainedId(up, 'merge')
  if (!b.has(merged)) await b.add('merge', [chainedId(up, 'model'), chainedId(up, trained), chainedId(up, 'tokenize')], { id: merged, params: mergeNode.params(up) })
  return merged
}

/** The `model` node: the base model's folder, or, in a chain, the chained recipe's merged model (an input, so its key follows it). */
export async function addModelNode(b: GraphBuilder, recipe: Recipe): Promise<string> {
  const up = chainedRecipe(recipe)
  if (up === undefined) return b.add('model', [], { reads: modelReadPaths(recipe, b.options) })
  return b.add('model', [chainedId(up, 'merge')])
}
