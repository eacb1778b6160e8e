import { z } from 'zod'
import { argsSchema } from '../schema/args.ts'
import { dataSchema } from '../schema/data.ts'
import { defineNode } from './node.ts'
import { resolvedSchema } from './resolved.ts'

const args = argsSchema.shape

/** `collate` params: what the batch plan depends on. */
export const collateParamsSchema = z.strictObject({
  batchSize: resolvedSchema(args.batchSize),
  gradientAccumulationSteps: resolvedSchema(args.gradientAccumulationSteps),
  epochs: resolvedSchema(args.epochs),
  maxSteps: args.maxSteps,
  groupByLength: resolvedSchema(args.groupByLength),
  seed: resolvedSchema(args.seed),
  shuffle: resolvedSchema(args.shuffle),
  /** `data.packing` as the stage resolved it. */
  packing: z.boolean(),
  maxLength: resolvedSchema(dataSchema.shape.maxLength),
})

export type CollateParams = z.output<typeof collateParamsSchema>

export const collateNode = defineNode({
  kind: 'collate',
  schema: collateParamsSchema,
  runsOn: 'data',
  artifact: '`plan.json` (the batch plan)',
  params: ({ args: a, data }) => {
    if (data.packing === undefined) throw new Error('collate: data.packing reached compile unresolved (parseRecipe fills it from the stage)')
    return {
      batchSize: a.batchSize, gradientAccumulationSteps: a.gradientAccumulationSteps, epochs: a.epochs, maxSteps: a.maxSteps,
      groupByLength: a.groupByLength, seed: a.seed, shuffle: a.shuffle, packing: data.packing, maxLength: data.maxLength,
    }
  },
})
