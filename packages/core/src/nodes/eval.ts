import { z } from 'zod'
import { modelSchema, quantizeSchema } from '../schema/model.ts'
import { backendSchema, deviceSchema } from '../schema/recipe.ts'
import { defineNode } from './node.ts'
import { resolvedSchema } from './resolved.ts'

/**
 * `eval` params: where it runs and how the base weights are loaded (as training loaded them: the
 * adapter was trained over that base, quantised or not); what it evaluates is its inputs (the
 * trained adapter and the eval micro-batches of the batch plan), whose keys cover the rest.
 */
export const evalParamsSchema = z.strictObject({
  backend: resolvedSchema(backendSchema),
  device: resolvedSchema(deviceSchema),
  dtype: resolvedSchema(modelSchema.shape.dtype),
  quantize: resolvedSchema(quantizeSchema).optional(),
})

export type EvalParams = z.output<typeof evalParamsSchema>

/** What the eval node writes into `eval.json` (and the `eval` event it emits). */
export interface EvalReport {
  /** Mean token cross-entropy over every labelled token of the eval set (nats). */
  loss: number
  /** exp(loss). */
  perplexity: number
  /** Labelled tokens the loss is the mean over. */
  tokens: number
  /** Eval samples. */
  samples: number
}

export const evalNode = defineNode({
  kind: 'eval',
  schema: evalParamsSchema,
  runsOn: 'backend',
  artifact: '`eval.json` `{ loss, perplexity, tokens, samples }`',
  params: ({ backend, device, model }) => ({ backend, device, dtype: model.dtype, quantize: model.quantize }),
})
