import { z } from 'zod'
import { dataSchema, formatSchema } from '../schema/data.ts'
import { defineNode } from './node.ts'
import { resolvedSchema } from './resolved.ts'

/** `format` params: how records map to conversations (or documents), and what a bad record does. */
export const formatParamsSchema = z.strictObject({
  format: resolvedSchema(formatSchema),
  onError: resolvedSchema(dataSchema.shape.onError),
})

export type FormatParams = z.output<typeof formatParamsSchema>

export const formatNode = defineNode({
  kind: 'format',
  schema: formatParamsSchema,
  runsOn: 'data',
  artifact: '`conversations.jsonl` (`{ id, messages }`) or, for `format: \'text\'`, `documents.jsonl` (`{ id, text }`), or, for `format: \'tokens\'`, `tokens.jsonl` (`{ id, where, ids, mask }`); `preferences.jsonl` / `unpaired.jsonl` for preference records; + `format.json` (counts, skipped)',
  params: ({ data }) => ({ format: data.format, onError: data.onError }),
})
