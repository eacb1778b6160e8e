import { nodeParams, type NodeExecutor } from '@tunekit/core'
import { splitFromSets, splitShards } from '../plan/split.ts'

/** The `split` node: train/ and eval/ shard sets. */
export const splitExecutor: NodeExecutor = async (ctx) => {
  const p = nodeParams('split', ctx.node)
  // With the source's own eval split, the eval chain's shards are the eval set as they are.
  const [trainInput, evalInput] = ctx.node.inputs
  if (evalInput) await splitFromSets(ctx.input(trainInput!), ctx.input(evalInput), ctx.outDir, { key: ctx.node.key })
  else await splitShards(ctx.input(trainInput!), ctx.outDir, { eval: p.split.eval, seed: p.split.seed, key: ctx.node.key })
}
