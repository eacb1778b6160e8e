import { z } from 'zod'
import { backendSchema, deviceSchema } from '../schema/recipe.ts'
import { defineNode } from './node.ts'
import { resolvedSchema } from './resolved.ts'

/**
 * `eval` params: where it runs; what it evaluates is its inputs (the trained model and the eval
 * micro-batches of the batch plan), so their keys cover everything else it depends on.
 */
export const evalParamsSchema = z.strictObject({
  backend: resolvedSchema(backendSchema),
  device: resolvedSchema(deviceSchema),
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
  params: ({ backend, device }) => ({ backend, device }),
})
