import { z } from 'zod'
import { dataSchema, sourceSchema } from '../schema/data.ts'
import { defineNode } from './node.ts'
import { resolvedSchema } from './resolved.ts'

/** `source` params: where the records come from and how many to read. */
export const sourceParamsSchema = z.strictObject({
  source: resolvedSchema(sourceSchema),
  limit: dataSchema.shape.limit,
})

export type SourceParams = z.output<typeof sourceParamsSchema>

export const sourceNode = defineNode({
  kind: 'source',
  schema: sourceParamsSchema,
  runsOn: 'data',
  artifact: '`records.jsonl` + `source.json` (counts, origin)',
  params: ({ data }) => ({ source: data.source, limit: data.limit }),
})
