// Freeze tuning on tfjs: trainable copies of only the tensors LLaMA-Factory's freeze rule picks
// (core's freezeTrainedNames); every other tensor stays the frozen one, bit for bit.
import { familyInfo, freezeTrainedNames } from '@tunekit/core'
import { baseWeightReader } from '../model/load.ts'
import { mergeTrained } from '../merge.ts'
import { startValues, trainedWeightsState } from './trained-weights.ts'
import type { TfjsMethod } from './types.ts'

export const freeze = {
  setup: async ({ model, method, modelDir, resumed }) => {
    const names = freezeTrainedNames(method, familyInfo(model.family)!, model.config)
    let initial = resumed
    if (!initial) {
      const base = await baseWeightReader(modelDir, model.config.vocabSize)
      initial = await startValues(names, base.readFloat).finally(() => base.close())
    }
    const from = initial
    const { kind: _freeze, ...options } = method
    return {
      state: trainedWeightsState(model, names, (n) => from.get(n) ?? missing(n)),
      trained: { kind: 'freeze', options, config: model.config },
    }
  },
  load: (model, artifact) => trainedWeightsState(model, [...artifact.tensors.keys()], (n) => artifact.tensors.get(n)!),
  merge: (o) => mergeTrained({ ...o, trained: o.artifact.tensors }),
} satisfies TfjsMethod<'freeze'>

function missing(name: string): never {
  throw new Error(`the checkpoint has no ${name}`)
}
