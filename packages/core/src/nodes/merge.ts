import { z } from 'zod'
import { modelSchema } from '../schema/model.ts'
import { backendSchema, outputSchema } from '../schema/recipe.ts'
import { defineNode } from './node.ts'
import { resolvedSchema } from './resolved.ts'

/** `merge` params: shard size, the weights' dtype and whether the trained base was quantised. */
export const mergeParamsSchema = z.strictObject({
  maxShardSize: resolvedSchema(outputSchema.shape.maxShardSize),
  /** `model.dtype`: the torch worker merges and writes in it (tfjs: float32). */
  dtype: resolvedSchema(modelSchema.shape.dtype),
  /** Whether training ran over a quantised base: merge always folds into unquantised weights, and says so. */
  quantized: z.boolean(),
  backend: resolvedSchema(backendSchema),
})

export type MergeParams = z.output<typeof mergeParamsSchema>

export const mergeNode = defineNode({
  kind: 'merge',
  schema: mergeParamsSchema,
  runsOn: 'backend',
  artifact: 'Hugging Face model folder with the tokenizer and chat template',
  params: (recipe) => ({
    maxShardSize: recipe.output.maxShardSize,
    dtype: recipe.model.dtype,
    quantized: recipe.model.quantize !== undefined,
    backend: recipe.backend,
  }),
})
