import { Command } from 'commander'
import { formatPlan, plan, TunekitError, type Plan, type PlanOptions } from '@tunekit/core'
import type { CliCommand, CliContext } from '../context.ts'
import { wire } from '../wire.ts'
import { addRecipeFlags, compilePrepared, missingInputs, modelInspector, prepareRecipe, weightShapeReader, type RecipeFlags } from './recipe-flags.ts'

export interface PlanCommandOptions extends RecipeFlags {
  json?: boolean
  /** Ask the backends what they can do here (loads TensorFlow.js, starts Python) instead of assuming. */
  probe?: boolean
}

/**
 * `tunekit plan`: the graph with each node's status, data figures, steps, parameters, a memory
 * estimate and an ETA, without loading weights. Missing weights or data are listed as notes, not
 * errors: planning a 7B run on a laptop is the point. A local model folder that is there but
 * would fail (config.json, weights' headers, tokenizer) is listed under problems, exit code 1.
 */
export async function planRecipe(ctx: CliContext, fileArg: string | undefined, opts: PlanCommandOptions): Promise<Plan> {
  const prepared = await prepareRecipe(ctx, fileArg, opts, 'plan')
  const graph = await compilePrepared(prepared)
  let backend: PlanOptions['backend']
  if (opts.probe) {
    const wiring = await wire(prepared.recipe)
    if (wiring.resolved) backend = { name: wiring.resolved.backend.name, capabilities: wiring.resolved.capabilities }
    await wiring.dispose()
  }
  const result = plan(graph, { cacheDir: prepared.cacheDir, inspectModel: modelInspector, weightShapes: weightShapeReader, ...(backend ? { backend } : {}) })
  const missing = missingInputs(prepared.recipe, prepared.baseDir)
  const notes = missing.map((i) => `${i.message}. ${i.hint}`)
  const full: Plan = { ...result, notes: [...result.notes, ...notes] }
  // Errors (a model folder that would fail) go to stderr once, as every command's errors do, exit 1.
  const errors = full.issues.filter((i) => i.severity === 'error')
  ctx.out(opts.json ? `${JSON.stringify(full, null, 2)}\n` : `${formatPlan({ ...full, issues: full.issues.filter((i) => i.severity !== 'error') })}\n`)
  if (errors.length > 0) throw new TunekitError(errors, `The plan of ${prepared.recipe.name} found ${errors.length === 1 ? 'a problem' : `${errors.length} problems`} the run would fail on`)
  return full
}

export const planCommand: CliCommand = (ctx) =>
  addRecipeFlags(
    new Command('plan')
      .description('Show the graph, cached steps, data figures, parameters, memory and ETA without loading weights.')
      .argument('[recipe]', 'recipe file (.ts, .json, .yaml); defaults to the file that called main()'),
  )
    .option('--json', 'print the plan as JSON')
    .option('--probe', 'ask the backends what this machine has (loads TensorFlow.js, starts Python) instead of assuming')
    .action(async (file: string | undefined, opts: PlanCommandOptions) => {
      await planRecipe(ctx, file, opts)
    })
