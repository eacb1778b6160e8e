// Full fine-tuning on tfjs: every base tensor gets a trainable float32 copy that the forward pass
// uses in place of the frozen one; the artifact is the trained model (HF names, @tunekit/hf full).
import { decoderParameters, familyInfo } from '@tunekit/core'
import { baseWeightReader } from '../model/load.ts'
import { mergeTrained } from '../merge.ts'
import { startValues, trainedWeightsState } from './trained-weights.ts'
import type { TfjsMethod } from './types.ts'

export const full = {
  setup: async ({ model, modelDir, resumed }) => {
    const names = decoderParameters(familyInfo(model.family)!, model.config).map((p) => p.name)
    let initial = resumed
    if (!initial) {
      const base = await baseWeightReader(modelDir, model.config.vocabSize)
      initial = await startValues(names, base.readFloat).finally(() => base.close())
    }
    const from = initial
    return { state: trainedWeightsState(model, names, (n) => from.get(n) ?? missing(n)), trained: { kind: 'full', config: model.config } }
  },
  load: (model, artifact) => trainedWeightsState(model, [...artifact.tensors.keys()], (n) => artifact.tensors.get(n)!),
  merge: (o) => mergeTrained({ ...o, trained: o.artifact.tensors }),
} satisfies TfjsMethod<'full'>

function missing(name: string): never {
  throw new Error(`the checkpoint has no ${name}`)
}
