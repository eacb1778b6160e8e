import { z } from 'zod'
import { argsSchema } from '../schema/args.ts'
import { loraSchema } from '../schema/lora.ts'
import { modelSchema } from '../schema/model.ts'
import { tokensSchema } from '../schema/tokens.ts'
import { backendSchema, deviceSchema } from '../schema/recipe.ts'
import { defineNode } from './node.ts'
import { resolvedSchema, resolvedShape } from './resolved.ts'

/**
 * The train node's `method` slot: the recipe's method options with their `kind`. Today LoRA only,
 * `{ kind: 'lora', ...recipe.lora }`; the methods registry (core/src/methods/) adds its members here.
 */
export const methodParamsSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('lora'),
    ...resolvedShape(loraSchema.shape),
    /** Module names: parseRecipe expands `'all-linear'` and the family's default into them. */
    targetModules: z.array(z.string().min(1)).min(1),
  }),
])

export type MethodParams = z.output<typeof methodParamsSchema>

/** `train` params: the model as trained (dtype, quantisation), the method, the optimisation and where it runs. */
export const trainParamsSchema = z.strictObject({
  model: resolvedSchema(modelSchema),
  tokens: resolvedSchema(tokensSchema),
  method: methodParamsSchema,
  args: resolvedSchema(argsSchema),
  backend: resolvedSchema(backendSchema),
  device: resolvedSchema(deviceSchema),
})

export type TrainParams = z.output<typeof trainParamsSchema>

export const trainNode = defineNode({
  kind: 'train',
  schema: trainParamsSchema,
  runsOn: 'backend',
  artifact: 'PEFT adapter + `trainer_state.json` + `tokenizer/` + `chat_template.jinja`',
  params: (recipe) => ({
    model: recipe.model,
    tokens: recipe.tokens,
    method: { kind: 'lora' as const, ...recipe.lora },
    args: recipe.args,
    backend: recipe.backend,
    device: recipe.device,
  }),
})
