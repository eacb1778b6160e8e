// Ctrl-C under `npx tsx recipe.ts`. tsx's CLI runs the recipe in a child process and, on SIGINT,
// relays the signal (node_modules/tsx/dist/cli.mjs, `relaySignals`): it waits 30 ms for the
// child's preflight (dist/preflight.cjs) to report over tsx's IPC pipe that the child got the
// signal, sends SIGINT itself if not, waits 30 ms more, then SIGKILLs the child and exits 130. The
// preflight reports from a signal listener, i.e. only when the child's event loop turns; a tfjs
// training step is synchronous work of a second or more, so the child is killed mid-step with no
// checkpoint. So under tsx, `main()` runs the command in a grandchild (the same node flags and
// loader, the same file and arguments) and stays an idle supervisor: its event loop answers tsx
// at once, and the grandchild gets Ctrl-C like `tunekit run` does and checkpoints at the end of
// its step.
import { spawn } from 'node:child_process'
import { constants } from 'node:os'

const SUPERVISED = 'TUNEKIT_SUPERVISED'
const RELAYED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/** Whether this process is the child tsx's CLI started (`--require …/tsx/dist/preflight.cjs`). */
export function underTsxCli(execArgv: readonly string[] = process.execArgv): boolean {
  return execArgv.some((arg, i) => execArgv[i - 1] === '--require' && /[\\/]tsx[\\/]dist[\\/]preflight\.cjs$/.test(arg))
}

/** Whether this process is the grandchild a supervisor started; forgets the mark so that its own children do not inherit it. */
export function isSupervised(): boolean {
  const mark = process.env[SUPERVISED]
  delete process.env[SUPERVISED]
  return mark !== undefined && mark === String(process.ppid)
}

/**
 * Runs this process's script again as a child with the same flags and arguments and exits with
 * its exit code; never returns. Signals are passed on (the child counts a burst as one Ctrl-C),
 * so a signal sent to tsx alone, not to the process group, still reaches the training.
 */
export function superviseScript(): Promise<never> {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [SUPERVISED]: String(process.pid) },
  })
  for (const signal of RELAYED) process.on(signal, () => void child.kill(signal))
  return new Promise<never>(() => {
    child.on('exit', (code, signal) => process.exit(code ?? 128 + (signal ? constants.signals[signal] : 1)))
    child.on('error', (e) => {
      process.stderr.write(`tunekit could not start the recipe under tsx: ${e.message}\n`)
      process.exit(2)
    })
  })
}

/**
 * In the grandchild: a supervisor that goes away (killed with -9) is a Ctrl-C, so the run
 * checkpoints and stops rather than training on unseen. The IPC channel does not keep the
 * process alive.
 */
export function followSupervisor(): void {
  process.channel?.unref()
  process.once('disconnect', () => process.kill(process.pid, 'SIGINT'))
}
