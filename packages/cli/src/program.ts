import { Command, CommanderError } from 'commander'
import { isTunekitError, SIGNAL_BURST_MS } from '@tunekit/core'
import { checkCommand } from './commands/check.ts'
import { schemaCommand } from './commands/schema.ts'
import { runCommand } from './commands/run.ts'
import { planCommand } from './commands/plan.ts'
import { graphCommand } from './commands/graph.ts'
import { mergeCommand } from './commands/merge.ts'
import { exportCommand } from './commands/export.ts'
import { setupCommand } from './commands/setup.ts'
import { initCommand } from './commands/init.ts'
import { chatCommand } from './commands/chat.ts'
import { askCommand } from './commands/ask.ts'
import { evalCommand } from './commands/eval.ts'
import { uiCommand } from './commands/ui.ts'
import type { CliCommand, CliContext } from './context.ts'

export type { CliCommand, CliContext } from './context.ts'

/** Every command of `tunekit`, in `--help` order. Adding one is one import and one line here. */
export const commands: readonly CliCommand[] = [runCommand, evalCommand, planCommand, checkCommand, graphCommand, chatCommand, askCommand, mergeCommand, exportCommand, initCommand, schemaCommand, setupCommand, uiCommand]

/**
 * The verb a recipe file runs when started without one (`npx tsx recipe.ts`): `run` once that
 * command exists, `check` until then.
 */
export const defaultVerbs = ['run', 'check'] as const

/** Exit codes: 0 ok, 1 a problem the user can fix (printed as issues), 2 a bug, 130 interrupted. */
export const exitCodes = { ok: 0, problem: 1, crash: 2, interrupted: 130 } as const

/** The commander program with every command (or the given ones) registered, writing through `ctx`. */
export function createProgram(ctx: CliContext, registered: readonly CliCommand[] = commands): Command {
  const program = new Command('tunekit')
    .description('Fine-tune large language models from recipes written as TypeScript.')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: ctx.out, writeErr: ctx.err })
  for (const make of registered) {
    program.addCommand(make(ctx).exitOverride().configureOutput({ writeOut: ctx.out, writeErr: ctx.err }))
  }
  return program
}

export interface RunCliOptions {
  preset?: CliContext['preset']
  out?: (text: string) => void
  err?: (text: string) => void
  cwd?: string
  /** The commands to offer; all of {@link commands} by default (a program embedding tunekit may pick). */
  commands?: readonly CliCommand[]
}

/** The node and crash log of a `NodeCrash` (matched by name: a recipe may load its own copy of core). */
const crashOf = (e: unknown): { node: string; crashLog: string | null } | null =>
  e instanceof Error && e.name === 'NodeCrash' ? (e as unknown as { node: string; crashLog: string | null }) : null

const isAbort = (e: unknown): boolean => e instanceof Error && e.name === 'AbortError'

/**
 * Runs `tunekit` with `args` (without `node` and the script) and returns the exit code: 0 clean,
 * 1 for problems the user can fix (a `TunekitError`: its issues are printed, never a stack
 * trace), 2 for anything else (a bug: the stack is printed), 130 when interrupted with Ctrl-C.
 */
export async function runCli(args: readonly string[], options: RunCliOptions = {}): Promise<number> {
  const controller = new AbortController()
  const ctx: CliContext = {
    out: options.out ?? ((t) => void process.stdout.write(t)),
    err: options.err ?? ((t) => void process.stderr.write(t)),
    cwd: options.cwd ?? process.cwd(),
    signal: controller.signal,
    exitCode: exitCodes.ok,
    ...(options.preset ? { preset: options.preset } : {}),
  }
  // First Ctrl-C: ask the command to stop cleanly; second: leave at once. One Ctrl-C can arrive
  // as several SIGINTs (the terminal signals the whole process group, and npx and tsx each relay
  // it again), all handled together once a blocking training step ends: those within
  // SIGNAL_BURST_MS of the first are the same Ctrl-C.
  let firstAt = 0
  const onSigint = (): void => {
    if (controller.signal.aborted) {
      if (performance.now() - firstAt < SIGNAL_BURST_MS) return
      process.exit(exitCodes.interrupted)
    }
    firstAt = performance.now()
    ctx.err('\nInterrupted: stopping at the next safe point (Ctrl-C again to quit now).\n')
    controller.abort()
  }
  process.on('SIGINT', onSigint)
  try {
    await createProgram(ctx, options.commands).parseAsync([...args], { from: 'user' })
    return controller.signal.aborted ? exitCodes.interrupted : ctx.exitCode
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? exitCodes.ok : exitCodes.problem
    if (isTunekitError(e)) {
      ctx.err(`${e.message}\n`)
      const interrupted = controller.signal.aborted || e.issues.some((i) => i.name === 'Interrupted')
      return interrupted ? exitCodes.interrupted : exitCodes.problem
    }
    if (controller.signal.aborted || isAbort(e)) {
      ctx.err('Interrupted.\n')
      return exitCodes.interrupted
    }
    const crash = crashOf(e)
    const where = crash ? ` in node ${crash.node}` : ''
    ctx.err(`tunekit crashed${where}; this is a bug in tunekit, please report it with the trace below.\n${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
    if (crash?.crashLog) ctx.err(`the trace is also in ${crash.crashLog}\n`)
    return exitCodes.crash
  } finally {
    process.off('SIGINT', onSigint)
  }
}

/**
 * Puts the default verb in front of `args` when they start with no verb (a recipe file run as
 * `npx tsx recipe.ts` or `npx tsx recipe.ts --flag`), so that `main()` runs the recipe's usual
 * command. `names` are the registered commands.
 */
export function withDefaultVerb(args: readonly string[], names: readonly string[]): string[] {
  const first = args[0]
  // A word is a verb (commander reports an unknown one); only flags or nothing get the default.
  if (first !== undefined && !first.startsWith('-')) return [...args]
  if (first === '--help' || first === '-h') return [...args]
  const verb = defaultVerbs.find((v) => names.includes(v)) ?? 'check'
  return [verb, ...args]
}
