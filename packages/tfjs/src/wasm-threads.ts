import { BackendWasm, setThreadsCount } from '@tensorflow/tfjs-backend-wasm'
import * as tf from '@tensorflow/tfjs-core'
import { writeFileAtomic } from '@tunekit/core'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import os, { availableParallelism, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

// tfjs-backend-wasm never starts its threaded SIMD build in Node: its WASM_HAS_MULTITHREAD_SUPPORT
// flag answers false there (tfjs issue 3830), and its set-up hands Emscripten's pthread workers
// `blob:` URLs, which Node's worker_threads reject. The package ships the build's files, so this
// instantiates that build with file paths instead and registers it as the `wasm` backend: the
// same kernels, XNNPACK's products spread over a thread pool.

/** The Emscripten module of the threaded build, as tfjs-backend-wasm's init() completes it. */
type WasmModule = ConstructorParameters<typeof BackendWasm>[0] & {
  cwrap: (name: string, returns: string | null, args: string[]) => (...args: number[]) => number
  /** Emscripten's pthread bookkeeping (the build exports it): the workers that run the pool's threads. */
  PThread?: { runningWorkers: PoolWorker[] }
}
/** An Emscripten pthread worker: a Node worker_threads Worker. */
interface PoolWorker { ref: () => void; unref: () => void }

/**
 * Lets the process exit while the pool's threads live: Emscripten `ref()`s the worker of every
 * running pthread (a thread that will finish keeps Node alive), but XNNPACK's pool threads never
 * finish, so a script that ends without process.exit() would hang at its end. A worker whose
 * thread starts later (its worker still loading) would ref() itself then: that ref is dropped too.
 */
function unrefPool(module: WasmModule): void {
  for (const worker of module.PThread?.runningWorkers ?? []) {
    worker.unref()
    worker.ref = () => {}
  }
}
type Factory = (config: { locateFile: (path: string, prefix: string) => string; mainScriptUrlOrBlob: string }) => Promise<WasmModule>

/**
 * The pthread worker's script as a file: the package ships it only as a string
 * (`wasmWorkerContents`, which its init turns into a blob: URL), written once per package version.
 */
async function workerScript(root: string, require: NodeJS.Require): Promise<string> {
  const { version } = require(join(root, 'package.json')) as { version: string }
  const file = join(tmpdir(), `tunekit-tfjs-wasm-${version}-worker.cjs`)
  if (existsSync(file)) return file
  const { wasmWorkerContents } = require(join(root, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string }
  // the string's "\n" escapes came out of a template literal as newlines inside JS string literals
  await writeFileAtomic(file, wasmWorkerContents.replace(/\n/g, '\\n'))
  return file
}

/**
 * Runs `start` while os.cpus() reports `count` cores. The build caps its pool at half the cores
 * (its static initialiser reads emscripten_num_logical_cores, which is os.cpus().length in Node,
 * and halves it for hyper-threading), so on a 2-core machine it would never use 2 threads.
 */
async function withCoreCount<T>(count: number, start: () => Promise<T>): Promise<T> {
  const cpus = os.cpus
  const one = cpus()[0]!
  os.cpus = () => Array.from({ length: count }, () => one)
  try {
    return await start()
  } finally {
    os.cpus = cpus
  }
}

/**
 * Threads to use: `TUNEKIT_WASM_THREADS` when set (1 turns threading off), else the cores Node may
 * use (at most the build's pool of 8) on machines with 4 or more, else 1: on 2 cores the pool's
 * spinning workers compete with the main thread's other kernels and with other processes. Fewer
 * than 2, or no SharedArrayBuffer / Atomics, means the single-threaded build.
 */
export function wasmThreadCount(env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): number {
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') return 1
  const asked = env.TUNEKIT_WASM_THREADS
  const count = asked !== undefined && asked !== '' ? Math.floor(Number(asked)) || 1 : cores >= 4 ? cores : 1
  return Math.max(1, Math.min(8, count))
}

let tried: Promise<{ threads: number } | { reason: string }> | undefined

/**
 * Registers the threaded SIMD build as the `wasm` backend when the platform allows it (once per
 * process); returns the thread count, or why it stayed single-threaded. Takes effect only before
 * the wasm backend is first set.
 */
export function useWasmThreads(threads = wasmThreadCount()): Promise<{ threads: number } | { reason: string }> {
  tried ??= startThreaded(threads)
  return tried
}

async function startThreaded(threads: number): Promise<{ threads: number } | { reason: string }> {
  if (threads < 2) return { reason: 'a pool needs 4+ cores or TUNEKIT_WASM_THREADS' }
  try {
    const require = createRequire(import.meta.url)
    const root = dirname(dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))) // …/tfjs-backend-wasm (main is dist/…)
    const script = join(root, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js')
    const factory = require(script) as Factory
    const files: Record<string, string> = {
      '.worker.js': await workerScript(root, require),
      '.wasm': join(root, 'dist', 'tfjs-backend-wasm-threaded-simd.wasm'),
    }
    const locateFile = (path: string, prefix: string): string => Object.entries(files).find(([end]) => path.endsWith(end))?.[1] ?? prefix + path
    // the workers read the main script by path (importScripts is their fs.readFileSync + eval)
    const module = await withCoreCount(2 * threads, () => factory({ locateFile, mainScriptUrlOrBlob: script }))
    module.tfjs = {
      init: module.cwrap('init', null, []),
      initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
      getThreadsCount: module.cwrap('get_threads_count', 'number', []),
      registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
      disposeData: module.cwrap('dispose_data', null, ['number']),
      dispose: module.cwrap('dispose', null, []),
    }
    setThreadsCount(threads)
    const backend = new BackendWasm(module) // starts XNNPACK's pool; a failure leaves the single-threaded backend registered
    unrefPool(module)
    if (tf.findBackendFactory('wasm')) tf.removeBackend('wasm')
    tf.registerBackend('wasm', () => backend, 2) // tfjs-backend-wasm's own priority
    return { threads }
  } catch (err) {
    return { reason: (err as Error).message.split('\n')[0]! }
  }
}
