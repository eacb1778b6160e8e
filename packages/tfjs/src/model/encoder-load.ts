// Loading a BertForQuestionAnswering folder into an EncoderModel: config.json through the family
// registry, every weight's shape checked against it from the headers before a tensor is allocated
// (the same checks as the decoder loader), then each weight read as float32 under the name the
// checkpoint stores it by (a pretrained bert-base-uncased: `bert.` prefix, LayerNorm gamma / beta).
// A checkpoint without the QA head (a pretrained encoder) gets a fresh one drawn from `headSeed`,
// as transformers initialises the head it finds missing; the torch worker loads the same draw.
import { checkWeights, freshWeight, modelWeightSpecs, openModelWeights, readModelConfig, storedWeightName } from '@tunekit/hf'
import { fail } from '@tunekit/core'
import { tf } from '../engine.ts'
import type { EncoderModel } from './encoder.ts'

export interface LoadEncoderOptions {
  /**
   * Seed of a head the checkpoint lacks (`args.seed`), for training it. Without one a missing head
   * is an error (answering with a random head would mean nothing).
   */
  headSeed?: number
}

export async function loadEncoder(dir: string, options: LoadEncoderOptions = {}): Promise<EncoderModel> {
  const folder = await readModelConfig(dir)
  const encoder = folder.config.encoder
  if (encoder === undefined) fail('FamilyMismatch', { path: 'model.family', value: 'bert', hintArgs: [folder.family] }, 'bert', folder.family, `${dir}/config.json`)
  checkWeights(dir, folder)
  const weights = await openModelWeights(dir)
  const stored = new Set(weights.names)
  const out = new Map<string, tf.Tensor>()
  try {
    for (const spec of modelWeightSpecs(folder.family, folder.config)) {
      const name = storedWeightName(spec, stored)
      // checkWeights let a missing weight through only when it is a fresh head
      const t =
        name !== undefined ? await weights.readFloat(name)
        : options.headSeed !== undefined ? freshWeight(spec, encoder.initializerRange, options.headSeed)
        : fail('MissingWeight', { path: spec.name, hintArgs: [spec.name] }, spec.name, dir, ' (the question-answering head: train it first, a run with stage qa)')
      out.set(spec.name, tf.tensor(t.data, spec.shape))
    }
  } finally {
    await weights.close()
  }
  return { family: folder.family, config: folder.config, weights: out }
}
