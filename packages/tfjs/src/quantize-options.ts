import { fail, type ModelOptions } from '@tunekit/core'
import type { QuantizeOptions } from './model/load.ts'

/** The recipe's `model.quantize` as tfjs's packed weights (fp4 is torch-only). */
export function quantizeOptions(q: ModelOptions['quantize'] | undefined): QuantizeOptions | undefined {
  if (!q) return undefined
  if (q.type === 'fp4') return fail('BackendUnavailable', { path: 'model.quantize.type', value: 'fp4', hintArgs: ["Use type 'nf4' (or backend: 'torch' for fp4)."] }, 'tfjs', 'fp4 weights are not implemented in tfjs')
  return { type: q.type, blockSize: q.blockSize, doubleQuant: q.doubleQuant }
}
