// What the worker's Python can do (versions, CUDA, bf16, bitsandbytes), asked once per Python and
// cached; `backend: 'auto'` uses it to pick torch when a CUDA-capable torch is present.
import { fail, issue, TunekitError } from '@tunekit/core'
import { readFileSync } from 'node:fs'
import { findPython, LOCK_FILE, tail } from './python.ts'
import { callWorker } from './worker-pool.ts'

export interface TorchDevice {
  name: string
  memoryBytes: number
  /** CUDA compute capability, e.g. `9.0`. */
  capability: string
}

export interface TorchProbe {
  python: string
  pythonVersion: string
  /** Installed versions by package name; null when missing. */
  versions: Record<string, string | null>
  cuda: boolean
  cudaVersion: string | null
  devices: TorchDevice[]
  bf16: boolean
  bitsandbytes: boolean
  /** Set when torch cannot be imported. */
  error?: string
}

/** `name==version` pins of a requirements lock (comments and markers ignored). */
export function readLock(file: string = LOCK_FILE): Record<string, string> {
  const pins: Record<string, string> = {}
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.replace(/#.*/, '').split(';')[0]!.trim()
    const m = /^([A-Za-z0-9_.-]+)==([^\s]+)$/.exec(line)
    if (m) pins[m[1]!.toLowerCase()] = m[2]!
  }
  return pins
}

/** Differences between installed versions and the lock, as sentences (`peft 0.20.0 installed, 0.21.2 tested`). */
export function versionMismatches(versions: Record<string, string | null>, pins: Record<string, string> = readLock()): string[] {
  const out: string[] = []
  for (const [name, want] of Object.entries(pins)) {
    if (name === 'pytest') continue // only the worker's own tests need it
    const have = versions[name]
    // a local build tag (`2.11.0+cu130`, `+cpu`) is the same release
    if (have === null || have === undefined) out.push(`${name} is missing (${want} tested)`)
    else if (have.split('+')[0] !== want) out.push(`${name} ${have} installed, ${want} tested`)
  }
  return out
}

const cache = new Map<string, Promise<TorchProbe>>()

/** Probes the worker's Python once (cached per interpreter). Throws PythonMissing / PackageMismatch. */
export function probeTorch(options: { python?: string } = {}): Promise<TorchProbe> {
  const choice = findPython(options.python)
  if (!('python' in choice)) return Promise.reject(new TunekitError([issue('PythonMissing', { path: 'backend' }, choice.looked)]))
  const python = choice.python
  let probe = cache.get(python)
  if (!probe) {
    probe = probeOnce(python)
    probe.catch(() => cache.delete(python)) // a failed probe is retried (e.g. after `tunekit setup torch`)
    cache.set(python, probe)
  }
  return probe
}

async function probeOnce(python: string): Promise<TorchProbe> {
  // on the worker process the run's nodes then use (worker-pool.ts): its imports are paid once
  const stdout: string[] = []
  const stderr: string[] = []
  const result = await callWorker(python, { command: 'probe' }, { onStdout: (l) => void stdout.push(l), onStderr: (l) => void stderr.push(l) }).done
  if (result.spawnError) fail('PythonMissing', { path: 'backend', value: python }, [`${python} (${result.spawnError.code ?? result.spawnError.message})`])
  const line = stdout.find((l) => l.startsWith('{'))
  if (result.code !== 0 || !line) {
    fail('WorkerFailed', { path: 'backend', value: python }, `\`${python} -m tunekit_torch probe\` exited with code ${result.code}`, tail(stderr.join('\n')))
  }
  const raw = JSON.parse(line) as Omit<TorchProbe, 'pythonVersion' | 'python'> & { python: string; executable: string }
  const probe: TorchProbe = {
    python,
    pythonVersion: raw.python,
    versions: raw.versions,
    cuda: raw.cuda === true,
    cudaVersion: raw.cudaVersion ?? null,
    devices: raw.devices ?? [],
    bf16: raw.bf16 === true,
    bitsandbytes: raw.bitsandbytes === true,
  }
  if (raw.error) probe.error = raw.error
  if (raw.error || probe.versions.torch === null) {
    fail('PackageMismatch', { path: 'backend', value: python, hintArgs: [installCommand(python)] }, python, [raw.error ?? 'torch is missing', ...versionMismatches(probe.versions)])
  }
  return probe
}

/** The command that installs the pinned lock into a Python. */
export function installCommand(python: string): string {
  return `${python} -m pip install -r ${LOCK_FILE}`
}

/**
 * For `backend: 'auto'`: use torch when a CUDA-capable torch is present. Never throws; the reason
 * says what was found (no Python, no CUDA, which GPU).
 */
export async function torchAutoChoice(options: { python?: string } = {}): Promise<{ use: boolean; reason: string }> {
  try {
    const p = await probeTorch(options)
    if (!p.cuda) return { use: false, reason: `torch ${p.versions.torch} at ${p.python} has no CUDA device` }
    const gpu = p.devices[0]
    return { use: true, reason: `torch ${p.versions.torch} with CUDA ${p.cudaVersion} on ${gpu ? gpu.name : 'a GPU'}${p.devices.length > 1 ? ` (+${p.devices.length - 1})` : ''}` }
  } catch (e) {
    const message = e instanceof Error ? e.message.split('\n')[0] : String(e)
    return { use: false, reason: `no usable torch: ${message}` }
  }
}

/** Forgets cached probes (after `tunekit setup torch` changed the environment). */
export function clearProbeCache(): void {
  cache.clear()
}
