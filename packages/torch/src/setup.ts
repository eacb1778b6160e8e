// `tunekit setup torch`: a managed virtual environment from the pinned lock (or TUNEKIT_PYTHON /
// an explicit Python), then a version check that names any mismatch and the command that fixes it.
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { fail } from '@tunekit/core'
import { clearProbeCache, installCommand, probeTorch, versionMismatches, type TorchProbe } from './probe.ts'
import { CUDA_LOCK_FILE, LOCK_FILE, managedVenvDir, runPython, tail, venvPython } from './python.ts'

export interface SetupOptions {
  /** Install into this Python instead of a managed venv (as TUNEKIT_PYTHON does). */
  python?: string
  /** Where the managed venv goes. @defaultValue `~/.tunekit/venvs/torch` */
  venvDir?: string
  /** Interpreter that creates the venv. @defaultValue `python3` */
  basePython?: string
  /** Also install bitsandbytes (requirements-cuda.lock). @defaultValue true when `nvidia-smi` runs */
  cuda?: boolean
  /** Progress lines (pip's output). */
  onLog?: (line: string) => void
}

export interface EnvironmentCheck {
  python: string
  probe: TorchProbe
  /** Sentences naming each difference from the lock; empty when it matches. */
  mismatches: string[]
  /** The command that installs the lock into this Python. */
  fix: string
}

/** Checks a Python against the lock. Throws PythonMissing / PackageMismatch when torch is unusable. */
export async function checkTorchEnvironment(python?: string): Promise<EnvironmentCheck> {
  const probe = await probeTorch(python === undefined ? {} : { python })
  return { python: probe.python, probe, mismatches: versionMismatches(probe.versions), fix: installCommand(probe.python) }
}

async function hasNvidiaGpu(): Promise<boolean> {
  const r = await runPython('nvidia-smi', ['-L'])
  return r.code === 0 && r.stdout.includes('GPU')
}

async function pip(python: string, args: string[], onLog?: (line: string) => void): Promise<void> {
  const r = await runPython(python, ['-m', 'pip', ...args], onLog ? { onLine: onLog } : {})
  if (r.spawnError) fail('PythonMissing', { path: 'setup', value: python }, [python])
  if (r.code !== 0) fail('WorkerFailed', { path: 'setup', value: python }, `pip ${args.join(' ')} exited with code ${r.code}`, tail(r.stderr))
}

/**
 * Creates (or reuses) the environment and installs the pinned lock; returns the version check.
 * Idempotent: a second run only verifies (pip finds everything satisfied).
 */
export async function setupTorch(options: SetupOptions = {}): Promise<EnvironmentCheck> {
  let python = options.python ?? process.env.TUNEKIT_PYTHON
  if (!python) {
    const venv = options.venvDir ?? managedVenvDir()
    python = venvPython(venv)
    if (!existsSync(python)) {
      await mkdir(dirname(venv), { recursive: true })
      const base = options.basePython ?? 'python3'
      options.onLog?.(`creating ${venv} with ${base} -m venv`)
      const r = await runPython(base, ['-m', 'venv', venv])
      if (r.spawnError) fail('PythonMissing', { path: 'setup', value: base }, [base])
      if (r.code !== 0) fail('WorkerFailed', { path: 'setup', value: base }, `${base} -m venv ${venv} exited with code ${r.code}`, tail(r.stderr))
    }
  }
  options.onLog?.(`installing ${LOCK_FILE} into ${python}`)
  await pip(python, ['install', '--disable-pip-version-check', '-r', LOCK_FILE], options.onLog)
  if (options.cuda ?? (await hasNvidiaGpu())) {
    options.onLog?.(`installing ${CUDA_LOCK_FILE} (bitsandbytes)`)
    await pip(python, ['install', '--disable-pip-version-check', '-r', CUDA_LOCK_FILE], options.onLog)
  }
  clearProbeCache()
  const check = await checkTorchEnvironment(python)
  if (check.mismatches.length > 0) {
    fail('PackageMismatch', { path: 'setup', value: python, hintArgs: [check.fix] }, python, check.mismatches)
  }
  return check
}
