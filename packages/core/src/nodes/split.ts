import { z } from 'zod'
import { splitSchema } from '../schema/data.ts'
import { defineNode } from './node.ts'
import { resolvedSchema } from './resolved.ts'

/** `split` params: the held-out share and its seed (or the source's own eval split). */
export const splitParamsSchema = z.strictObject({ split: resolvedSchema(splitSchema) })

export type SplitParams = z.output<typeof splitParamsSchema>

export const splitNode = defineNode({
  kind: 'split',
  schema: splitParamsSchema,
  runsOn: 'data',
  artifact: '`train/` and `eval/`: two shard sets',
  params: ({ data }) => ({ split: data.split }),
})
