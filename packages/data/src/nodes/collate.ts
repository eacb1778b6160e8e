import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { inputOfKind, nodeParams, writeJsonAtomic, type NodeExecutor } from '@tunekit/core'
import { makeBatchPlan } from '../plan/batch-plan.ts'
import { readShards } from '../shards/shards.ts'

/** The `collate` node: the batch plan (`plan.json`). */
export const collateExecutor: NodeExecutor = async (ctx) => {
  const p = nodeParams('collate', ctx.node)
  const dir = inputOfKind(ctx, 'split')
  const train = await readShards(join(dir, 'train'))
  const evalIndex = JSON.parse(await readFile(join(dir, 'eval', 'index.json'), 'utf8')) as { lengths: number[] }
  const trained = train.index.lengths.map((len, i) => {
    const start = train.index.offsets[i]!
    let n = 0
    for (let t = start + 1; t < start + len; t++) n += train.mask[t]!
    return n
  })
  const plan = makeBatchPlan({ lengths: train.index.lengths, trained }, { lengths: evalIndex.lengths }, p)
  await writeJsonAtomic(join(ctx.outDir, 'plan.json'), plan)
  ctx.emit({
    type: 'log',
    node: ctx.node.id,
    level: 'info',
    message: `batch plan: ${plan.stepsPerEpoch} steps/epoch, ${plan.totalSteps} steps, padding efficiency ${(plan.paddingEfficiency * 100).toFixed(1)}%, ${plan.trainedTokensPerEpoch} trained tokens/epoch${plan.packing ? ' (packed)' : ''}`,
  })
}
