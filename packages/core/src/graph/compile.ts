import { join } from 'node:path'
import type { Recipe } from '../define.ts'
import { stages } from '../stages/index.ts'
import { graphBuilder } from './builder.ts'
import { addChainedRecipe, chainedRecipe, type CompiledNodes } from './chain.ts'
import { createFileHasher, type FileHasher } from './hash.ts'
import { addOutputNodes } from './outputs.ts'
import type { CompileOptions } from './options.ts'
import type { Graph } from './types.ts'
import { withModelConfigTemplate } from './model-template.ts'
import { templateChoice } from '../template-choice.ts'

export { nodeKey } from './key.ts'

export type { CompileOptions } from './options.ts'

/**
 * Compiles a recipe into its execution graph (docs/design.md, "The graph"): the recipe's stage adds its
 * nodes (stages/<kind>.ts), then the eval and output choices add theirs (graph/outputs.ts). Each
 * node's params come from its kind's fill function (nodes/<kind>.ts), parsed with its schema; its
 * key hashes them with its inputs' keys and the files it reads. Reads no weights; hashes data files,
 * the model's config.json and tokenizer files (streamed, remembered by path, size and mtime).
 */
export async function compile(recipe: Recipe, opts: CompileOptions): Promise<Graph> {
  const hasher = createFileHasher(opts.cacheDir ? join(opts.cacheDir, 'file-hashes.json') : undefined)
  const resolved = withModelConfigTemplate(recipe, opts)
  const { nodes } = await compileNodes(resolved, opts, hasher)
  hasher.save()
  // the rule that chose the chat template, for plan and the checks table (no key reads it)
  const template = templateChoice(resolved)
  return { version: 1, recipeName: recipe.name, nodes, ...(template ? { template } : {}) }
}

/** The recipe's nodes (a chained recipe's first, graph/chain.ts) and the id of its trained node. */
async function compileNodes(given: Recipe, opts: CompileOptions, hasher: FileHasher): Promise<CompiledNodes> {
  const recipe = withModelConfigTemplate(given, opts)
  const { builder, nodes } = graphBuilder(recipe, opts, hasher)
  const up = chainedRecipe(recipe)
  if (up) await addChainedRecipe(builder, up, (r) => compileNodes(r, opts, hasher))
  const stage = stages[recipe.stage.kind]
  for (const other of stage.requires?.(recipe) ?? []) {
    const { nodes: included } = await compileNodes(other, opts, hasher)
    builder.include(included, `${other.name}/`)
  }
  const trained = await stage.build(builder, recipe)
  if (!stage.ownOutputs) await addOutputNodes(builder, recipe, trained)
  return { nodes, trained }
}
