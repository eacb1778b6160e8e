import { join, relative } from 'node:path'
import { Command } from 'commander'
import {
  createProgressRenderer,
  formatIssue,
  formatPlan,
  getNode,
  isCached,
  plan,
  planProblems,
  selectNodes,
  runGraph,
  TunekitError,
  type RunEvent,
  type RunResult,
  type Selection,
} from '@tunekit/core'
import type { CliCommand, CliContext } from '../context.ts'
import { wire } from '../wire.ts'
import { scoreTable } from './score-table.ts'
import { addRecipeFlags, compilePrepared, missingInputs, modelInspector, prepareRecipe, weightShapeReader, type PreparedRecipe, type RecipeFlags } from './recipe-flags.ts'

/** Options of {@link runRecipe}: the recipe flags, the node selection, and how to report. */
export interface RunOptions extends RecipeFlags, Selection {
  /** Events as JSON lines on stdout (for programs) instead of progress and the plan. */
  json?: boolean
  /** The command that asked, as messages name it (`tunekit merge …`); default `run`. */
  verb?: string
  /** Run even when the plan finds that it does not fit (memory, disk). */
  force?: boolean
  /** `false` (`--no-wait`): fail with `RunLocked` instead of waiting for another run of the same folder or cache entry. */
  wait?: boolean
}

/** A path as the user would type it, relative to the working directory when inside it. */
export const shown = (ctx: CliContext, path: string): string => {
  const rel = relative(ctx.cwd, path)
  return rel && !rel.startsWith('..') ? rel : path
}

/**
 * `tunekit run`: validates the recipe, compiles it, stops at once (exit 1, every missing input
 * named with the ways to provide it) when weights or data are absent, prints the plan, then runs
 * the graph with progress, skipping cached nodes. Returns the runner's result.
 */
export async function runRecipe(ctx: CliContext, fileArg: string | undefined, opts: RunOptions): Promise<RunResult> {
  return runPrepared(ctx, await prepareRecipe(ctx, fileArg, opts, opts.verb), opts)
}

/** {@link runRecipe} on a recipe already loaded with its flags (`tunekit export` changes `output.gguf` first). */
export async function runPrepared(ctx: CliContext, prepared: PreparedRecipe, opts: RunOptions): Promise<RunResult> {
  const { recipe } = prepared
  const graph = await compilePrepared(prepared)
  const missing = missingInputs(recipe, prepared.baseDir)
  if (missing.length > 0) {
    // Show what the run would be (the backend assumed, not probed), then what is missing.
    if (!opts.json) ctx.out(`✔ ${recipe.name}: recipe checked\n${formatPlan(plan(graph, { cacheDir: prepared.cacheDir, inspectModel: modelInspector, weightShapes: weightShapeReader }))}\n\n`)
    throw new TunekitError(missing, `Cannot run ${recipe.name}: ${missing.length === 1 ? 'an input is' : `${missing.length} inputs are`} not on this machine`)
  }

  // A model folder the plan finds broken (config.json, weights' headers, tokenizer) stops the run
  // before the first node, each problem printed once: the plan without them, then the error.
  // --force does not go past these: the model node would refuse the folder anyway.
  const checked = plan(graph, { cacheDir: prepared.cacheDir, inspectModel: modelInspector, weightShapes: weightShapeReader })
  const broken = checked.issues.filter((i) => i.severity === 'error')
  if (broken.length > 0) {
    if (!opts.json) ctx.out(`${formatPlan({ ...checked, issues: checked.issues.filter((i) => i.severity !== 'error') })}\n`)
    throw new TunekitError(broken, `Cannot run ${recipe.name}: the model folder has ${broken.length === 1 ? 'a problem' : `${broken.length} problems`}`)
  }

  // Load a backend only when a backend node (train, merge, generate) will actually run.
  const selection = { until: opts.until, only: opts.only, from: opts.from }
  const { visit, force } = selectNodes(graph, selection, prepared.cacheDir)
  const needsBackend = visit.some((id) => {
    const node = getNode(graph, id)
    return node.runsOn === 'backend' && (force.has(id) || !isCached(prepared.cacheDir, node.key))
  })
  const wiring = await wire(recipe, { backend: needsBackend })
  try {
    const onEvent = opts.json
      ? (e: RunEvent) => ctx.out(`${JSON.stringify(e)}\n`)
      : createProgressRenderer({ write: ctx.out, tty: process.stdout.isTTY === true })
    const resolved = wiring.resolved
    const backend = resolved ? { backend: { name: resolved.backend.name, capabilities: resolved.capabilities } } : {}
    const planned = plan(graph, { cacheDir: prepared.cacheDir, inspectModel: modelInspector, weightShapes: weightShapeReader, ...backend })
    if (!opts.json) ctx.out(`✔ ${recipe.name}: recipe checked\n${formatPlan(planned)}\n\n`)
    // The plan's verdicts stop the run before its first node; --force goes on, saying so.
    const problems = planProblems(planned, recipe, visit)
    if (problems.length > 0 && !opts.force) {
      throw new TunekitError(problems, `Cannot run ${recipe.name}: the plan says it would fail`)
    }
    for (const p of problems) ctx.err(`${formatIssue({ ...p, severity: 'warning' })}\n  (going on: --force)\n`)
    // runGraph announces the backend as an event, so that it is written to events.jsonl too.
    const result = await runGraph(graph, {
      ...(resolved ? { backend: { name: resolved.backend.name, capabilities: resolved.capabilities, reason: resolved.reason } } : {}),
      recipe,
      executors: wiring.executors,
      cacheDir: prepared.cacheDir,
      runDir: prepared.runDir,
      baseDir: prepared.baseDir,
      signal: ctx.signal,
      onEvent,
      wait: opts.wait !== false,
      ...(planned.disk ? { diskNeedBytes: planned.disk.total } : {}),
      ...selection,
    })
    if (!opts.json) {
      const run = shown(ctx, result.runDir)
      const ran = (id: string): boolean => result.nodes.some((n) => n.id === id)
      ctx.out(`\nresults in ${run}/ (recipe.json, graph.json, events.jsonl${ran('merge') ? ', merged/' : ''}${ran('export') ? ', gguf/' : ''})\n`)
      if (result.nodes.some((n) => n.id === 'merge')) ctx.out(`chat with it: npx tunekit chat ${join(run, 'merged')}\n`)
      ctx.out(scoreTable(recipe, result))
    }
    return result
  } finally {
    await wiring.dispose()
  }
}

/** Adds `--until`, `--only` and `--from`. */
export function addSelectionFlags(cmd: Command): Command {
  return cmd
    .option('--until <node>', 'run up to and including this node (and what it needs)')
    .option('--only <node>', 'run only this node; its inputs must be cached')
    .option('--from <node>', 're-run this node and everything after it, even when cached')
}

export const runCommand: CliCommand = (ctx) =>
  addSelectionFlags(
    addRecipeFlags(
      new Command('run')
        .description('Check, plan, then run a recipe: train, merge and sample; cached steps are skipped. Stops before the first node when the plan says the memory or the disk does not fit (--force goes on).')
        .argument('[recipe]', 'recipe file (.ts, .json, .yaml); defaults to the file that called main()'),
    ),
  )
    .option('--json', 'print run events as JSON lines instead of progress')
    .option('--force', 'run even when the plan says it does not fit (memory or disk)')
    .option('--no-wait', 'fail at once (TK434) when another run holds the run folder or a cache entry, instead of waiting')
    .action(async (file: string | undefined, opts: RunOptions) => {
      await runRecipe(ctx, file, opts)
    })
