// IA³ on tfjs: one trainable vector per targeted linear module, in PEFT's shape ([out, 1] scales
// the output, [1, in] a feed-forward module's input; model/linear.ts ia3Linear), every value 1 at
// the start (PEFT's init_ia3_weights), keyed by PEFT's names so both backends write one adapter.
// Merging folds each vector into its weight (W ⊙ l, rows or columns), as PEFT's merge does.
import { ia3Modules } from '@tunekit/core'
import { ia3Key, type FloatTensor } from '@tunekit/hf'
import { tf } from '../engine.ts'
import type { DecoderModel } from '../model/types.ts'
import { mergeTrained } from '../merge.ts'
import { linearModules, type AdapterState } from './state.ts'
import type { TfjsMethod } from './types.ts'

const moduleName = (path: string): string => path.slice(path.lastIndexOf('.') + 1)
const layerOf = (path: string): number => Number(/\.layers\.(\d+)\./.exec(path)![1])

/** The IA³ state: `initial` holds PEFT-keyed vectors (a checkpoint or an artifact); absent ones start at 1. */
export function createIa3(model: DecoderModel, m: { targetModules: readonly string[]; feedforwardModules: readonly string[] }, initial: ReadonlyMap<string, FloatTensor>): AdapterState {
  const ia3 = new Map<string, { vector: tf.Variable; feedforward: boolean }>()
  const entries: Array<[string, tf.Variable]> = []
  for (const lin of linearModules(model)) {
    const name = moduleName(lin.path)
    if (!m.targetModules.includes(name)) continue
    const [out, inF] = lin.weight.kind === 'dense' ? [lin.weight.weightT.shape[1], lin.weight.weightT.shape[0]] : lin.weight.weight.shape
    const feedforward = m.feedforwardModules.includes(name)
    const shape: [number, number] = feedforward ? [1, inF] : [out, 1]
    const key = ia3Key(name, layerOf(lin.path))
    const init = initial.get(key)
    const vector = tf.variable(init ? tf.tensor2d(init.data, shape) : tf.ones<tf.Rank.R2>(shape))
    ia3.set(lin.path, { vector, feedforward })
    entries.push([key, vector])
  }
  return { lora: new Map(), ia3, scale: 0, dropout: 0, weights: new Map(), entries }
}

/** `W ⊙ l` for every scaled module (rows for an output vector [out, 1], columns for a feed-forward [1, in]); biases are scaled with their rows. */
export function foldIa3(base: ReadonlyMap<string, FloatTensor>, vectors: ReadonlyMap<string, FloatTensor>): Map<string, FloatTensor> {
  const out = new Map<string, FloatTensor>()
  for (const [key, l] of vectors) {
    const path = key.replace(/^base_model\.model\./, '').replace(/\.ia3_l$/, '')
    const w = base.get(`${path}.weight`)
    if (!w) throw new Error(`the base model has no ${path}.weight for ${key}`)
    const [rows, cols] = w.shape as [number, number]
    const rowScaled = l.shape[1] === 1
    const data = Float32Array.from(w.data, (x, i) => x * l.data[rowScaled ? Math.floor(i / cols) : i % cols]!)
    out.set(`${path}.weight`, { shape: [rows, cols], data })
    const b = base.get(`${path}.bias`)
    if (b && rowScaled) out.set(`${path}.bias`, { shape: b.shape, data: Float32Array.from(b.data, (x, i) => x * l.data[i]!) })
  }
  return out
}

export const ia3 = {
  setup: async ({ model, method, resumed }) => {
    const { targets, feedforward } = ia3Modules(method, model.family)
    const modules = { targetModules: [...targets], feedforwardModules: [...feedforward] }
    return { state: createIa3(model, modules, resumed ?? new Map()), trained: { kind: 'ia3', ...modules } }
  },
  load: (model, artifact) => createIa3(model, artifact.method, artifact.tensors),
  merge: (o) => mergeTrained({ ...o, trained: (base) => foldIa3(base, o.artifact.tensors) }),
} satisfies TfjsMethod<'ia3'>
