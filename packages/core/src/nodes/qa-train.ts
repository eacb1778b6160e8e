import { z } from 'zod'
import { argsSchema } from '../schema/args.ts'
import { withGaloreDefaults } from '../schema/galore.ts'
import { modelSchema } from '../schema/model.ts'
import { backendSchema, deviceSchema } from '../schema/recipe.ts'
import { defineNode } from './node.ts'
import { resolvedSchema } from './resolved.ts'
import { methodParams, methodParamsSchema } from './train.ts'

/** `qa-train` params: the encoder as trained, the method (full or LoRA), the optimisation and where it runs. */
export const qaTrainParamsSchema = z.strictObject({
  model: resolvedSchema(modelSchema),
  method: methodParamsSchema,
  args: resolvedSchema(argsSchema),
  backend: resolvedSchema(backendSchema),
  device: resolvedSchema(deviceSchema),
})

export type QaTrainParams = z.output<typeof qaTrainParamsSchema>

export const qaTrainNode = defineNode({
  kind: 'qa-train',
  schema: qaTrainParamsSchema,
  runsOn: 'backend',
  artifact: "the trained model in transformers' layout (BertForQuestionAnswering: config.json, model.safetensors, tokenizer files; LoRA merged into it) + `adapter/` (LoRA: PEFT's adapter_model.safetensors) + `trainer_state.json`",
  params: (recipe) => ({
    model: recipe.model,
    method: methodParams(recipe),
    args: withGaloreDefaults(recipe.args),
    backend: recipe.backend,
    device: recipe.device,
  }),
})
