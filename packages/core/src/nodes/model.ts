import { z } from 'zod'
import { modelSchema } from '../schema/model.ts'
import { defineNode } from './node.ts'
import { resolvedSchema } from './resolved.ts'

/** `model` params: the recipe's `model` group minus what only training reads (quantize, gradientCheckpointing). */
export const modelParamsSchema = resolvedSchema(modelSchema.omit({ quantize: true, gradientCheckpointing: true }))

export type ModelParams = z.output<typeof modelParamsSchema>

export const modelNode = defineNode({
  kind: 'model',
  schema: modelParamsSchema,
  runsOn: 'data',
  artifact: '`model-ref.json` `{ "path": abs folder }` for existing weights, or the full HF folder for `model.random`',
  params: ({ model }) => {
    const { quantize: _quantize, gradientCheckpointing: _checkpointing, ...rest } = model
    return rest
  },
})
