import { z } from 'zod'
import { modelSchema, quantizeSchema } from '../schema/model.ts'
import { backendSchema, deviceSchema } from '../schema/recipe.ts'
import { defineNode } from './node.ts'
import { resolvedSchema } from './resolved.ts'

/**
 * `ref-logprobs` params: where it runs and how the base is loaded (as training loads it). The
 * reference is the base alone (with LoRA, the adapter off, as TRL's DPOTrainer takes it when
 * `ref_model` is None), so neither the method nor the optimisation enters the key: changing
 * `stage.beta` or `args` re-runs `train` only. What it scores is its inputs (model, tokenize).
 */
export const refLogprobsParamsSchema = z.strictObject({
  backend: resolvedSchema(backendSchema),
  device: resolvedSchema(deviceSchema),
  dtype: resolvedSchema(modelSchema.shape.dtype),
  quantize: resolvedSchema(quantizeSchema).optional(),
})

export type RefLogprobsParams = z.output<typeof refLogprobsParamsSchema>

/**
 * What the node writes into `ref-logprobs.json`: per preference pair, in the order of the
 * tokenize artifact's `pairs/` shard set, the reference model's log-probability (nats) of the
 * chosen and of the rejected answer given the prompt, summed over the answer's labelled tokens.
 */
export interface RefLogprobs {
  /** The format step's record id of each pair. */
  records: string[]
  chosen: number[]
  rejected: number[]
}

export const refLogprobsNode = defineNode({
  kind: 'ref-logprobs',
  schema: refLogprobsParamsSchema,
  runsOn: 'backend',
  artifact: '`ref-logprobs.json` `{ records, chosen, rejected }`: the reference\'s summed log-probabilities of each pair\'s answers',
  params: ({ backend, device, model }) => ({ backend, device, dtype: model.dtype, quantize: model.quantize }),
})
