import { z } from 'zod'
import { outputSchema } from '../schema/recipe.ts'
import { defineNode } from './node.ts'
import { resolvedSchema } from './resolved.ts'

/** `generate` params: the prompts and how long each answer may grow. */
export const generateParamsSchema = z.strictObject({
  samples: resolvedSchema(outputSchema.shape.samples),
  maxNewTokens: resolvedSchema(outputSchema.shape.maxNewTokens),
})

export type GenerateParams = z.output<typeof generateParamsSchema>

export const generateNode = defineNode({
  kind: 'generate',
  schema: generateParamsSchema,
  runsOn: 'backend',
  artifact: '`samples.jsonl`',
  params: ({ output }) => ({ samples: output.samples, maxNewTokens: output.maxNewTokens }),
})
