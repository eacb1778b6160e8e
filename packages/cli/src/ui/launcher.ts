// Runs the dashboard starts: each is `tunekit run <recipe> --set … --json --no-wait` (or `merge`,
// `export` with the same recipe and flags) in a child
// process, so training never blocks the server's event loop (a tfjs step is seconds of synchronous
// work) and Stop is the CLI's own Ctrl-C: SIGINT, the train node checkpoints at the end of its
// step, the run ends with Interrupted (TK404) and exit code 130. Resume starts the same command
// again: the train node's key is unchanged, so it continues from its last checkpoint.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { fail } from '@tunekit/core'

/** The `tunekit` executable of this package (src/ui → bin, and dist/ui → bin alike). */
const TUNEKIT_BIN = fileURLToPath(new URL('../../bin/tunekit.js', import.meta.url))

/** The last characters of a child's stderr kept for the page (its catalog messages). */
const STDERR_KEEP = 8000

/** The commands the dashboard runs on a recipe: train (and what follows), merge only, GGUF export. */
export type LaunchVerb = 'run' | 'merge' | 'export'

/** A run this dashboard started: how, and what its process is doing. */
export interface Launch {
  /** The run folder's id (see runs.ts). */
  run: string
  runDir: string
  /** The recipe file (absolute) and the `--set` flags it was started with. */
  file: string
  set: readonly string[]
  /** The command of the last process. */
  verb: LaunchVerb
  child?: ChildProcess
  /** Exit code of the last process (130: stopped after a checkpoint). */
  exitCode?: number | null
  stderr: string
}

/** The runs started from the dashboard, by run id. */
export interface Launcher {
  start(launch: Omit<Launch, 'stderr' | 'verb'>): Launch
  stop(run: string): boolean
  /** The same recipe file and flags again: `run` resumes from the last checkpoint, `merge` and `export` reuse the cached training. */
  again(run: string, verb: LaunchVerb): Launch
  get(run: string): Launch | undefined
  /** Whether the run's process is still going. */
  running(run: string): boolean
  all(): Launch[]
  /** Stops every running child (Ctrl-C on the server): each checkpoints before it exits. */
  stopAll(): Promise<void>
}

/** A launcher whose children run in `root` (the project folder), with `env` (the server's by default). */
export function createLauncher(root: string, env: NodeJS.ProcessEnv = process.env): Launcher {
  const launches = new Map<string, Launch>()
  const running = (l: Launch | undefined): boolean => l?.child !== undefined && l.child.exitCode === null && l.child.signalCode === null

  const spawnRun = (launch: Launch): Launch => {
    const args = [TUNEKIT_BIN, launch.verb, launch.file, ...launch.set.flatMap((f) => ['--set', f]), '--json', '--no-wait']
    const child = spawn(process.execPath, args, { cwd: root, env: { ...env, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] })
    Object.assign(launch, { child, exitCode: undefined, stderr: '' })
    child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      launch.stderr = (launch.stderr + text).slice(-STDERR_KEEP)
    })
    child.on('exit', (code) => {
      launch.exitCode = code
    })
    launches.set(launch.run, launch)
    return launch
  }

  return {
    start: (l) => {
      if (running(launches.get(l.run))) fail('UiRunActive', { path: 'run', value: l.run }, l.run)
      return spawnRun({ ...l, verb: 'run', stderr: '' })
    },
    stop: (run) => {
      const l = launches.get(run)
      return running(l) ? l!.child!.kill('SIGINT') : false
    },
    again: (run, verb) => {
      const l = launches.get(run)
      if (!l) return fail('UiNothingToResume', { path: 'run', value: run }, run)
      if (running(l)) fail('UiRunActive', { path: 'run', value: run }, run)
      return spawnRun(Object.assign(l, { verb }))
    },
    get: (run) => launches.get(run),
    running: (run) => running(launches.get(run)),
    all: () => [...launches.values()],
    stopAll: async () => {
      const live = [...launches.values()].filter(running)
      await Promise.all(live.map((l) => new Promise<void>((done) => {
        l.child!.once('exit', () => done())
        l.child!.kill('SIGINT')
      })))
    },
  }
}
