// Where the worker's Python lives and how it is started: an explicit path, TUNEKIT_PYTHON, or the
// managed virtual environment that `tunekit setup torch` creates.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Folder holding the `tunekit_torch` package and the requirement locks. */
export const PYTHON_PACKAGE_DIR = fileURLToPath(new URL('../python/', import.meta.url))
/** Pinned versions of torch, transformers, peft, accelerate, safetensors, numpy, pillow, tokenizers. */
export const LOCK_FILE = join(PYTHON_PACKAGE_DIR, 'requirements.lock')
/** bitsandbytes, installed on top where an NVIDIA GPU is present. */
export const CUDA_LOCK_FILE = join(PYTHON_PACKAGE_DIR, 'requirements-cuda.lock')

/** The managed environment: `$TUNEKIT_HOME/venvs/torch` (default `~/.tunekit/venvs/torch`). */
export function managedVenvDir(): string {
  return join(process.env.TUNEKIT_HOME ?? join(homedir(), '.tunekit'), 'venvs', 'torch')
}

export function venvPython(venvDir: string): string {
  return process.platform === 'win32' ? join(venvDir, 'Scripts', 'python.exe') : join(venvDir, 'bin', 'python')
}

export interface PythonChoice {
  python: string
  /** Why this one: the option, the environment variable, the project's `.venv`, or the managed venv. */
  source: 'option' | 'TUNEKIT_PYTHON' | 'project' | 'managed'
}

/**
 * The project's own environment: the nearest `.venv` at or above `from` that tunekit built
 * (`scripts/ensure-python.sh` leaves a `.tunekit-lock` stamp in it), so a checkout where `npm test`
 * ran needs no TUNEKIT_PYTHON.
 */
export function projectVenvPython(from: string = process.cwd()): string | null {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const venv = join(dir, '.venv')
    if (existsSync(join(venv, '.tunekit-lock')) && existsSync(venvPython(venv))) return venvPython(venv)
    if (dirname(dir) === dir) return null
  }
}

/** The Python the worker runs on, or the places looked at when there is none. */
export function findPython(explicit?: string, from: string = process.cwd()): PythonChoice | { looked: string[] } {
  if (explicit) return { python: explicit, source: 'option' }
  const env = process.env.TUNEKIT_PYTHON
  if (env) return { python: env, source: 'TUNEKIT_PYTHON' }
  const project = projectVenvPython(from)
  if (project) return { python: project, source: 'project' }
  const managed = venvPython(managedVenvDir())
  if (existsSync(managed)) return { python: managed, source: 'managed' }
  return { looked: ['the python option', 'TUNEKIT_PYTHON (unset)', `a .venv made by tunekit at or above ${resolve(from)}`, managed] }
}

/** Environment of a worker process: the package on PYTHONPATH, unbuffered output, offline hub. */
export function workerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const path = process.env.PYTHONPATH ? `${PYTHON_PACKAGE_DIR}${delimiter}${process.env.PYTHONPATH}` : PYTHON_PACKAGE_DIR
  return {
    ...process.env,
    PYTHONPATH: path,
    PYTHONUNBUFFERED: '1',
    TOKENIZERS_PARALLELISM: 'false',
    HF_HUB_DISABLE_TELEMETRY: '1',
    ...extra,
  }
}

export interface PythonResult {
  code: number | null
  stdout: string
  stderr: string
  /** Set when the executable could not be started at all (e.g. ENOENT). */
  spawnError?: NodeJS.ErrnoException
}

/** Runs a short Python command to completion (probes, pip); output collected in memory. */
export function runPython(python: string, args: readonly string[], options: { onLine?: (line: string) => void; env?: NodeJS.ProcessEnv } = {}): Promise<PythonResult> {
  return new Promise((resolve) => {
    const child = spawn(python, args, { env: options.env ?? workerEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      const text = d.toString()
      stderr += text
      if (options.onLine) for (const line of text.split('\n')) if (line.trim()) options.onLine(line)
    })
    child.on('error', (e: NodeJS.ErrnoException) => resolve({ code: null, stdout, stderr, spawnError: e }))
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** The last `n` lines of a log, for error reports. */
export function tail(text: string, n = 20): string {
  return text.trimEnd().split('\n').slice(-n).join('\n')
}
