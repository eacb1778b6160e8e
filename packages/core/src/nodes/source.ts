import { z } from 'zod'
import { dataSchema, sourceSchema } from '../schema/data.ts'
import { defineNode } from './node.ts'
import { resolvedSchema } from './resolved.ts'

/** `source` params: where the records come from and how many to read. */
export const sourceParamsSchema = z.strictObject({
  source: resolvedSchema(sourceSchema),
  limit: dataSchema.shape.limit,
  /** The dataset_info.json entry whose `file_name` picked the one file read (compile checks and picks it). */
  datasetInfo: z.strictObject({ file: z.string(), name: z.string(), fileName: z.string() }).optional(),
})

export type SourceParams = z.output<typeof sourceParamsSchema>

export const sourceNode = defineNode({
  kind: 'source',
  schema: sourceParamsSchema,
  runsOn: 'data',
  artifact: '`records.jsonl` + `source.json` (counts, origin)',
  params: ({ data }) => ({ source: data.source, limit: data.limit }),
})
