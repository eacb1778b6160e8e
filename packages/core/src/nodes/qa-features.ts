import { z } from 'zod'
import { familyNames } from '../families/index.ts'
import { dataSchema, splitSchema } from '../schema/data.ts'
import { qaStageSchema } from '../schema/stage.ts'
import { defineNode } from './node.ts'
import { resolvedSchema } from './resolved.ts'

const qa = qaStageSchema.shape

/**
 * `qa-features` params: how SQuAD records become windows (run_qa.py's `prepare_train_features`)
 * and which questions are held out. Held-out questions are split by question, never by window,
 * so that every window of a scored question is scored together.
 */
export const qaFeaturesParamsSchema = z.strictObject({
  maxLength: resolvedSchema(dataSchema.shape.maxLength),
  docStride: resolvedSchema(qa.docStride),
  version2WithNegative: resolvedSchema(qa.version2WithNegative),
  split: resolvedSchema(splitSchema),
  family: z.enum(familyNames as [string, ...string[]]),
})

export type QaFeaturesParams = z.output<typeof qaFeaturesParamsSchema>

export const qaFeaturesNode = defineNode({
  kind: 'qa-features',
  schema: qaFeaturesParamsSchema,
  runsOn: 'data',
  artifact: '`train/features.jsonl` (ids, type ids, start/end positions of each window), `eval/examples.jsonl` (held-out questions), `tokenizer/` + `report.json` (questions, windows)',
  params: ({ data, stage, model }) => {
    if (stage.kind !== 'qa') throw new Error('qa-features: compiled for a stage other than qa')
    return { maxLength: data.maxLength, docStride: stage.docStride, version2WithNegative: stage.version2WithNegative, split: data.split, family: model.family }
  },
})
