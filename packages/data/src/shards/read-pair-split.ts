import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { findInputOfKind, type NodeContext, type PairSplit } from '@tunekit/core'

/**
 * The training and held-out pairs of a preference train node: its `pair-split` input's
 * `pair-split.json`, or, for a graph without one, all `count` pairs training and none held out.
 */
export async function readPairSplit(ctx: Pick<NodeContext, 'node' | 'graph' | 'input'>, count: number): Promise<PairSplit> {
  const dir = findInputOfKind(ctx, 'pair-split')
  if (dir === undefined) return { train: Array.from({ length: count }, (_, i) => i), eval: [] }
  return JSON.parse(await readFile(join(dir, 'pair-split.json'), 'utf8')) as PairSplit
}
