import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'
import '@tensorflow/tfjs-backend-wasm'
// Gradients of the core ops: tfjs-core's Node build registers none (its register_all_gradients is
// ESM with extensionless imports that Node cannot load); the union package's Node build registers
// them in the global gradient registry that tfjs-core reads.
import '@tensorflow/tfjs'
import { useFreeingBackprop } from './backprop.ts'
import { registerWasmSliceKernels } from './wasm-kernels.ts'
import { useWasmThreads } from './wasm-threads.ts'

registerWasmSliceKernels()
useFreeingBackprop()

/** Which TensorFlow.js engine runs the math, and why it was picked. */
export interface EngineInfo {
  /** `tfjs-node-gpu`, `tfjs-node`, `tfjs-wasm` or `tfjs-cpu`. */
  engine: 'tfjs-node-gpu' | 'tfjs-node' | 'tfjs-wasm' | 'tfjs-cpu'
  device: 'gpu' | 'cpu' | 'wasm'
  reason: string
}

export type DeviceRequest = 'auto' | 'cpu' | 'wasm' | 'cuda'

let current: { request: DeviceRequest; info: EngineInfo } | undefined

/** Imports a package only when it is installed; the specifier is a variable so bundlers and tsc leave it alone. */
async function tryImport(specifier: string): Promise<string | undefined> {
  try {
    await import(specifier)
    return undefined
  } catch (err) {
    return (err as Error).message.split('\n')[0]
  }
}

/**
 * Picks the engine: tfjs-node-gpu, then tfjs-node (both optional, detected at run time), then wasm
 * (SIMD), then the pure-JS cpu backend. `device: 'cpu'` and `'wasm'` pin the choice.
 */
export async function selectEngine(request: DeviceRequest = 'auto'): Promise<EngineInfo> {
  if (current && current.request === request) return current.info
  const notes: string[] = []
  const use = async (name: string, info: EngineInfo): Promise<EngineInfo | undefined> => {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready()
        current = { request, info }
        return info
      }
      notes.push(`${name} did not initialise`)
    } catch (err) {
      notes.push(`${name}: ${(err as Error).message}`)
    }
    return undefined
  }
  if (request === 'auto' || request === 'cuda') {
    const gpuMissing = await tryImport('@tensorflow/tfjs-node-gpu')
    if (gpuMissing === undefined) {
      const got = await use('tensorflow', { engine: 'tfjs-node-gpu', device: 'gpu', reason: '@tensorflow/tfjs-node-gpu loaded' })
      if (got) return got
    } else notes.push('@tensorflow/tfjs-node-gpu not installed')
    if (request === 'auto') {
      const nodeMissing = await tryImport('@tensorflow/tfjs-node')
      if (nodeMissing === undefined) {
        const got = await use('tensorflow', { engine: 'tfjs-node', device: 'cpu', reason: '@tensorflow/tfjs-node loaded' })
        if (got) return got
      } else notes.push('@tensorflow/tfjs-node not installed')
    }
  }
  if (request !== 'cpu') {
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT').catch(() => false)
    // the threaded build needs SIMD too; it replaces the `wasm` backend before its first use
    const threads = simd ? await useWasmThreads() : { reason: 'no SIMD' }
    const pool = 'threads' in threads ? `${threads.threads} threads` : `1 thread; ${threads.reason}`
    const got = await use('wasm', {
      engine: 'tfjs-wasm',
      device: 'wasm',
      reason: [...notes, request === 'wasm' ? `device: wasm requested (${pool})` : `wasm backend (SIMD ${simd ? 'on' : 'off'}, ${pool})`].join('; '),
    })
    if (got) return got
  }
  const got = await use('cpu', { engine: 'tfjs-cpu', device: 'cpu', reason: [...notes, request === 'cpu' ? 'device: cpu requested' : 'fell back to the pure-JS cpu backend'].join('; ') })
  if (got) return got
  throw new Error(`no TensorFlow.js backend initialised: ${notes.join('; ')}`)
}

/** Bytes held by live tensors of the active engine. */
export const tensorBytes = (): number => tf.memory().numBytes

export { tf }

/** A trainable vector. */
export type Var1D = tf.Variable<tf.Rank.R1>

/** A trainable matrix. */
export type Var2D = tf.Variable<tf.Rank.R2>
