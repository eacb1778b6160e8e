import { Command } from 'commander'
import type { CliCommand } from '../context.ts'
import { addRecipeFlags } from './recipe-flags.ts'
import { runRecipe, type RunOptions } from './run.ts'

/**
 * `tunekit merge`: runs the recipe up to its merge node: the adapter is folded into the base
 * weights (`W' = W + (alpha / rank) · B · A`, saved modules replaced) and written as a Hugging
 * Face model folder with the tokenizer and the training chat template. Cached steps (a finished
 * training) are reused, so after `run --until train` this only merges.
 */
export const mergeCommand: CliCommand = (ctx) =>
  addRecipeFlags(
    new Command('merge')
      .description('Fold the trained adapter into the base weights (runs the recipe up to its merge node).')
      .argument('[recipe]', 'recipe file (.ts, .json, .yaml); defaults to the file that called main()'),
  )
    .option('--json', 'print run events as JSON lines instead of progress')
    .action(async (file: string | undefined, opts: RunOptions) => {
      await runRecipe(ctx, file, { ...opts, until: 'merge', verb: 'merge' })
    })
