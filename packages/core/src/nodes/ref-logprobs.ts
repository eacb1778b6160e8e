import { z } from 'zod'
import { modelSchema, quantizeSchema } from '../schema/model.ts'
import { backendSchema, deviceSchema } from '../schema/recipe.ts'
import { isWarmStart } from '../graph/warm-start.ts'
import { defineNode } from './node.ts'
import { resolvedSchema } from './resolved.ts'

/**
 * `ref-logprobs` params: where it runs and how the base is loaded (as training loads it). The
 * reference is the policy training starts from, as TRL's DPOTrainer takes it when `ref_model` is
 * None: the base with the adapter off (a fresh LoRA adapter adds nothing at step 0), or, with
 * `lora.init` naming an adapter folder, the base with that adapter (TRL's frozen `ref` copy of a
 * pretrained adapter). Neither the optimisation nor the objective enters the key: changing
 * `stage.beta` or `args` re-runs `train` only. What it scores is its inputs (model, tokenize).
 */
export const refLogprobsParamsSchema = z.strictObject({
  backend: resolvedSchema(backendSchema),
  device: resolvedSchema(deviceSchema),
  dtype: resolvedSchema(modelSchema.shape.dtype),
  quantize: resolvedSchema(quantizeSchema).optional(),
  /** `lora.init` when it names an adapter folder (its files are read into the key), else absent. */
  adapter: z.string().min(1).optional(),
  /**
   * What it scores: absent for the pair stages (each pair's chosen and rejected answer); `'unpaired'`
   * for kto (each example's completion, pairs unpaired as TRL unpairs them: `ktoExamples` in @tunekit/data).
   */
  examples: z.literal('unpaired').optional(),
  /**
   * KTO's KL completions (TRL's `KL_completion_ids`): example i of each run of this many consecutive
   * examples (`args.batchSize`, the batches training sees) is also scored with its predecessor's
   * completion, the first with the last's. Absent: no KL term (pairs, kto's `apo_zero_unpaired`).
   */
  klBatchSize: z.number().int().min(1).optional(),
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

/**
 * `ref-logprobs.json` of kto (params `examples: 'unpaired'`): per example, in `ktoExamples` order,
 * the reference's summed log-probability (nats) of its completion, and with `klBatchSize` of its KL
 * completion (`klCompletionOf`) after its prompt; `kl` is empty without a KL term.
 */
export interface UnpairedRefLogprobs {
  records: string[]
  completions: number[]
  kl: number[]
}

export const refLogprobsNode = defineNode({
  kind: 'ref-logprobs',
  schema: refLogprobsParamsSchema,
  runsOn: 'backend',
  artifact: '`ref-logprobs.json` `{ records, chosen, rejected }`: the reference\'s summed log-probabilities of each pair\'s answers (kto: `{ records, completions, kl }`, of each completion and KL completion)',
  params: ({ backend, device, model, method, lora }) => ({
    backend, device, dtype: model.dtype, quantize: model.quantize,
    adapter: method.kind === 'lora' && isWarmStart(lora.init) ? lora.init : undefined,
  }),
})
