import { z } from 'zod'
import { modelSchema } from '../schema/model.ts'
import { defineNode } from './node.ts'
import { resolvedSchema } from './resolved.ts'

/** `model` params: the recipe's `model` group minus what only training reads (quantize, gradientCheckpointing, vision). */
export const modelParamsSchema = resolvedSchema(
  modelSchema.omit({ quantize: true, gradientCheckpointing: true, vision: true }).extend({
    /** In a recipe chain (`init.recipe`), that recipe's name: the model is its merged output, this node's input (then no `random`, no `path`). */
    chained: z.string().min(1).optional(),
  }),
)

export type ModelParams = z.output<typeof modelParamsSchema>

export const modelNode = defineNode({
  kind: 'model',
  schema: modelParamsSchema,
  runsOn: 'data',
  artifact: '`model-ref.json` `{ "path": abs folder }` for existing weights (in a chain, the chained recipe\'s merged model), or the full HF folder for `model.random`',
  params: ({ model, init }) => {
    const { quantize: _quantize, gradientCheckpointing: _checkpointing, vision: _vision, ...rest } = model
    if (init === undefined) return rest
    // the merged folder is the model: what would create or find the base does not enter the key
    const { random: _random, path: _path, ...named } = rest
    return { ...named, chained: init.recipe.name }
  },
})
