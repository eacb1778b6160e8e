import { Command, Option } from 'commander'
import { isCached, renderGraph, type GraphFormat } from '@tunekit/core'
import type { CliCommand, CliContext } from '../context.ts'
import { addRecipeFlags, compilePrepared, prepareRecipe, type RecipeFlags } from './recipe-flags.ts'

export interface GraphCommandOptions extends RecipeFlags {
  format: GraphFormat
}

/** `tunekit graph`: draws the compiled graph (Mermaid, Graphviz dot, or JSON); cached nodes are filled. */
export async function graphRecipe(ctx: CliContext, fileArg: string | undefined, opts: GraphCommandOptions): Promise<string> {
  const prepared = await prepareRecipe(ctx, fileArg, opts, 'graph')
  const graph = await compilePrepared(prepared)
  const cached = new Set(graph.nodes.filter((n) => isCached(prepared.cacheDir, n.key)).map((n) => n.id))
  const text = renderGraph(graph, opts.format, { cached })
  ctx.out(text)
  return text
}

export const graphCommand: CliCommand = (ctx) =>
  addRecipeFlags(
    new Command('graph')
      .description('Draw the execution graph of a recipe.')
      .argument('[recipe]', 'recipe file (.ts, .json, .yaml); defaults to the file that called main()'),
  )
    .addOption(new Option('--format <format>', 'output format').choices(['mermaid', 'dot', 'json']).default('mermaid'))
    .action(async (file: string | undefined, opts: GraphCommandOptions) => {
      await graphRecipe(ctx, file, opts)
    })
