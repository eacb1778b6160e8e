import { join } from 'node:path'
import { inputOfKind, nodeParams, writeJsonAtomic, type NodeExecutor, type PairSplit } from '@tunekit/core'
import { splitIndices } from '../plan/split.ts'
import { requirePreferencePairs } from '../shards/require-pairs.ts'

/** The `pair-split` node: which preference pairs train and which are held out (`pair-split.json`). */
export const pairSplitExecutor: NodeExecutor = async (ctx) => {
  const p = nodeParams('pair-split', ctx.node)
  const { pairs } = await requirePreferencePairs(inputOfKind(ctx, 'tokenize'), ctx.recipe.stage.kind)
  const split: PairSplit = splitIndices(pairs.length, p.split)
  await writeJsonAtomic(join(ctx.outDir, 'pair-split.json'), split)
}
