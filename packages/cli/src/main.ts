import { fileURLToPath } from 'node:url'
import { isEntryPoint, type EntryMeta, type Recipe } from '@tunekit/core'
import { commands, runCli, withDefaultVerb, type CliContext } from './program.ts'
import { followSupervisor, isSupervised, superviseScript, underTsxCli } from './tsx-supervisor.ts'

/** Verbs that run long synchronous work (training steps, generation), which tsx would kill on Ctrl-C. */
const SUPERVISED_VERBS = new Set(['run', 'merge', 'chat'])

/**
 * Runs the `tunekit` command line on `recipe` when the recipe file is the process entry point
 * (`npx tsx recipes/x.ts [check|plan|run …] [options]`), with the file's recipe preset so that no
 * recipe argument is needed; returns at once when the file is only imported (by `tunekit check`,
 * a test, another recipe). Without a verb it runs the default one (`run`, or `check` until `run`
 * exists). Sets `process.exitCode`.
 *
 * Under `npx tsx recipe.ts`, `run`, `merge` and `chat` run in a child process so that Ctrl-C
 * checkpoints as under `tunekit run` (see tsx-supervisor.ts); the file's top level then runs
 * in both processes, the code after `main()` only in the child.
 */
export async function main(meta: EntryMeta, recipe: Recipe): Promise<void> {
  if (!(await isEntryPoint(meta))) return
  const noop = (): CliContext => ({ out: () => {}, err: () => {}, cwd: '', signal: new AbortController().signal, exitCode: 0 })
  const names = commands.map((make) => make(noop()).name())
  const args = withDefaultVerb(process.argv.slice(2), names)
  if (isSupervised()) followSupervisor()
  else if (underTsxCli() && SUPERVISED_VERBS.has(args[0] ?? '') && !args.includes('--help') && !args.includes('-h')) await superviseScript()
  process.exitCode = await runCli(args, { preset: { recipe, file: fileURLToPath(meta.url) } })
}
