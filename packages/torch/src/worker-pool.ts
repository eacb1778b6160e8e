// One worker process for the nodes and requests of a run (`python -m tunekit_torch serve`): the
// first call starts it, later calls with the same interpreter and environment reuse it, so the
// ~5 s of CPU that importing torch, transformers and PEFT costs is paid once rather than by the
// probe, train, merge and generate each. A process runs one call at a time (two at once start a
// second). It is unreferenced while idle, so it never keeps Node alive; it ends when its stdin
// closes (Node exits), after IDLE_MS without a call, or after an interrupted call (it
// checkpointed and exited 75, as a process of its own would have).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { Socket } from 'node:net'
import { createInterface } from 'node:readline'
import { workerEnv } from './python.ts'

/** The worker's commands (tunekit_torch/__main__.py); `file` is the spec or request, none for probe. */
export interface WorkerCall {
  command: 'run' | 'probe' | 'logits' | 'rewards' | 'complete'
  file?: string
}

/** How a call ended: the command's exit code, or the process's when it died first. */
export interface WorkerCallResult {
  code: number | null
  signal: NodeJS.Signals | null
  /** Set when the interpreter could not be started at all (e.g. ENOENT). */
  spawnError?: NodeJS.ErrnoException
}

export interface WorkerCallHandlers {
  /** Each stdout line of this call (events as JSON lines; the closing worker-done is kept back). */
  onStdout?: (line: string) => void
  /** Each stderr line of this call (the worker's log). */
  onStderr?: (line: string) => void
}

export interface WorkerCallHandle {
  done: Promise<WorkerCallResult>
  /** Signals the process running the call (SIGINT: finish the step, checkpoint, exit 75). */
  kill: (signal: NodeJS.Signals) => void
}

/** An idle worker ends after this long without a call (a UI server or a notebook keeps Node up). */
const IDLE_MS = 120_000
/** Exit codes of `python -m tunekit_torch` (see tunekit_torch/__init__.py). */
export const EXIT_INTERRUPTED = 75
export const EXIT_UNAVAILABLE = 69
/** serve's last stderr line of each call (DONE_MARK in tunekit_torch/__main__.py). */
const DONE_MARK = 'tunekit-worker-done'

interface Pending extends WorkerCallHandlers {
  resolve: (result: WorkerCallResult) => void
  /** The exit code from worker-done, once it has arrived. */
  code?: number
  /** Whether the log's end mark has arrived. */
  logDone?: boolean
}

class ServeProcess {
  readonly child: ChildProcessWithoutNullStreams
  private pending: Pending | undefined
  private idleTimer: NodeJS.Timeout | undefined
  exited = false
  /** Its stdin was closed after IDLE_MS: it is on its way out and takes no call. */
  ending = false

  constructor(python: string, env: NodeJS.ProcessEnv, private readonly onGone: (p: ServeProcess) => void) {
    this.child = spawn(python, ['-m', 'tunekit_torch', 'serve'], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    this.child.stdin.on('error', () => {}) // a dead process: its close event reports it
    createInterface({ input: this.child.stderr }).on('line', (line) => this.logLine(line))
    createInterface({ input: this.child.stdout }).on('line', (line) => this.line(line))
    this.child.on('error', (e: NodeJS.ErrnoException) => this.gone({ code: null, signal: null, spawnError: e }))
    this.child.on('close', (code, signal) => this.gone({ code, signal }))
  }

  get busy(): boolean {
    return this.pending !== undefined
  }

  call(call: WorkerCall, handlers: WorkerCallHandlers): Promise<WorkerCallResult> {
    clearTimeout(this.idleTimer)
    this.reference(true)
    return new Promise((resolve) => {
      this.pending = { ...handlers, resolve }
      this.child.stdin.write(`${JSON.stringify({ command: call.command, file: call.file ?? null })}\n`)
    })
  }

  // A call ends with a worker-done event on stdout and a mark on stderr; the two pipes are read
  // apart, so it is finished when both have arrived (its last log lines belong to it).
  private line(line: string): void {
    if (!line.startsWith('{"type":"worker-done"')) return void this.pending?.onStdout?.(line)
    if (this.pending) this.pending.code = (JSON.parse(line) as { code: number }).code
    this.settle()
  }

  private logLine(line: string): void {
    if (line !== DONE_MARK) return void this.pending?.onStderr?.(line)
    if (this.pending) this.pending.logDone = true
    this.settle()
  }

  private settle(): void {
    const code = this.pending?.code
    if (code !== undefined && this.pending?.logDone) this.finish({ code, signal: null }, code !== EXIT_INTERRUPTED)
  }

  private finish(result: WorkerCallResult, reusable: boolean): void {
    const pending = this.pending
    this.pending = undefined
    if (reusable && !this.exited) {
      this.reference(false)
      this.idleTimer = setTimeout(() => {
        this.ending = true
        this.child.stdin.end()
      }, IDLE_MS)
      this.idleTimer.unref()
    }
    pending?.resolve(result)
    if (!reusable || this.exited) this.onGone(this)
  }

  private gone(result: WorkerCallResult): void {
    if (this.exited) return
    this.exited = true
    clearTimeout(this.idleTimer)
    // serve exits 0 only at the end of its stdin: with a call under way that is a failure too
    if (this.pending) this.finish(result.code === 0 ? { ...result, code: 1 } : result, false)
    else this.onGone(this)
  }

  /** Busy: the pipes keep Node's event loop alive; idle: they do not. */
  private reference(on: boolean): void {
    // the stdio pipes are net.Sockets, which their stream types do not say
    const pipes = [this.child.stdin, this.child.stdout, this.child.stderr].filter((p) => p instanceof Socket)
    for (const handle of [this.child, ...pipes]) {
      if (on) handle.ref()
      else handle.unref()
    }
  }
}

const idle = new Map<string, ServeProcess[]>()

/** Runs one call on an idle worker of this interpreter and environment, or on a new one. */
export function callWorker(python: string, call: WorkerCall, handlers: WorkerCallHandlers = {}): WorkerCallHandle {
  const env = workerEnv()
  const key = `${python}\0${JSON.stringify(env)}`
  const free = idle.get(key) ?? []
  let worker = free.pop()
  while (worker && (worker.exited || worker.ending || worker.busy)) worker = free.pop()
  worker ??= new ServeProcess(python, env, (p) => {
    const list = idle.get(key) ?? []
    idle.set(key, list.filter((q) => q !== p))
  })
  const running = worker
  const done = running.call(call, handlers).then((result) => {
    if (!running.exited && result.code !== EXIT_INTERRUPTED) idle.set(key, [...(idle.get(key) ?? []).filter((q) => q !== running), running])
    return result
  })
  return { done, kill: (signal) => void running.child.kill(signal) }
}
