import { z } from 'zod'
import { splitSchema } from '../schema/data.ts'
import { defineNode } from './node.ts'
import { resolvedSchema } from './resolved.ts'

/** `pair-split` params: the held-out share (or count) of preference pairs and its seed, `data.split` as for conversations. */
export const pairSplitParamsSchema = z.strictObject({ split: resolvedSchema(splitSchema.omit({ evalSplit: true })) })

export type PairSplitParams = z.output<typeof pairSplitParamsSchema>

/**
 * What the node writes into `pair-split.json`: indices into the tokenize artifact's `pairs/` shard
 * set (its order, which ref-logprobs.json follows too), each list ascending.
 */
export interface PairSplit {
  train: number[]
  eval: number[]
}

export const pairSplitNode = defineNode({
  kind: 'pair-split',
  schema: pairSplitParamsSchema,
  runsOn: 'data',
  artifact: '`pair-split.json` `{ train, eval }`: indices of the training and the held-out preference pairs',
  params: ({ data }) => ({ split: { eval: data.split.eval, seed: data.split.seed } }),
})
