import { Command } from 'commander'
import type { CliCommand } from '../context.ts'
import { addRecipeFlags } from './recipe-flags.ts'
import { runRecipe, type RunOptions } from './run.ts'

/** Options of `tunekit eval`: the recipe flags and `--base`. */
export interface EvalCommandOptions extends RunOptions {
  /** Score the base model alone (no trained weights): the baseline row; nothing is trained. */
  base?: boolean
}

/**
 * `tunekit eval`: runs the recipe up to its score node — the trained model (training and merging
 * are cache hits after `run`) answers the held-out conversations and the answers are scored as
 * the recipe's `eval` group says — or, with `--base`, up to `score-base`: the base model alone
 * answers, after the data nodes only. Prints the table and leaves `report.json` (or
 * `report-base.json`) and the predictions in the run folder.
 */
export const evalCommand: CliCommand = (ctx) =>
  addRecipeFlags(
    new Command('eval')
      .description("Generate answers to the held-out conversations and score them (the recipe's eval group): the trained model, or the base model alone with --base.")
      .argument('[recipe]', 'recipe file (.ts, .json, .yaml); defaults to the file that called main()'),
  )
    .option('--base', 'score the base model without the trained weights (a baseline; trains nothing)')
    .option('--json', 'print run events as JSON lines instead of progress')
    .option('--force', 'run even when the plan says it does not fit (memory or disk)')
    .action(async (file: string | undefined, opts: EvalCommandOptions) => {
      const { base, ...rest } = opts
      const evalModel = base ? 'base' : 'trained'
      await runRecipe(ctx, file, { ...rest, evalModel, until: base ? 'score-base' : 'score', verb: 'eval' })
    })
