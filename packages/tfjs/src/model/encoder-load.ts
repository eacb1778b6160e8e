// Loading a BertForQuestionAnswering folder into an EncoderModel: config.json through the family
// registry, every weight's shape checked against it from the headers before a tensor is allocated
// (the same checks as the decoder loader), then each weight read as float32 by its transformers name.
import { checkWeights, modelWeightSpecs, openModelWeights, readModelConfig } from '@tunekit/hf'
import { fail } from '@tunekit/core'
import { tf } from '../engine.ts'
import type { EncoderModel } from './encoder.ts'

export async function loadEncoder(dir: string): Promise<EncoderModel> {
  const folder = await readModelConfig(dir)
  if (folder.config.encoder === undefined) fail('FamilyMismatch', { path: 'model.family', value: 'bert', hintArgs: [folder.family] }, 'bert', folder.family, `${dir}/config.json`)
  checkWeights(dir, folder)
  const weights = await openModelWeights(dir)
  const out = new Map<string, tf.Tensor>()
  try {
    for (const spec of modelWeightSpecs(folder.family, folder.config)) {
      const t = await weights.readFloat(spec.name)
      out.set(spec.name, tf.tensor(t.data, spec.shape))
    }
  } finally {
    await weights.close()
  }
  return { family: folder.family, config: folder.config, weights: out }
}
