import { z } from 'zod'
import { ggufTypeSchema, outputSchema, recipeSchema } from '../schema/recipe.ts'
import { defineNode } from './node.ts'
import { resolvedSchema } from './resolved.ts'

/**
 * `export` params: the GGUF types to write and the model's `general.name`. The types are a set:
 * written in ggml's order (f32, f16, q8_0, q4_0) whatever order the recipe lists them in, so
 * reordering `output.gguf` keeps the cache entry.
 */
export const exportParamsSchema = z.strictObject({
  gguf: resolvedSchema(outputSchema.shape.gguf),
  /** `general.name` inside each file: the recipe's name (the merged folder in the cache is named by its key). */
  name: resolvedSchema(recipeSchema.shape.name),
})

export type ExportParams = z.output<typeof exportParamsSchema>

export const exportNode = defineNode({
  kind: 'export',
  schema: exportParamsSchema,
  runsOn: 'data',
  artifact: '`model-<type>.gguf` and `Modelfile-<type>` (Ollama) per type of `output.gguf`',
  params: ({ output, name }) => ({ gguf: ggufTypeSchema.options.filter((t) => output.gguf.includes(t)), name }),
})
