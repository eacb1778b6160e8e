import type { NodeExecutor, NodeKind } from '@tunekit/core'
import { collateExecutor } from './collate.ts'
import { formatExecutor } from './format.ts'
import { pairSplitExecutor } from './pair-split.ts'
import { qaFeaturesExecutor } from './qa-features.ts'
import { sourceExecutor } from './source.ts'
import { splitExecutor } from './split.ts'
import { tokenizeExecutor } from './tokenize.ts'

/** Executors of the data nodes, for the graph runner: one file per node kind. */
export const dataExecutors = {
  source: sourceExecutor,
  format: formatExecutor,
  tokenize: tokenizeExecutor,
  split: splitExecutor,
  collate: collateExecutor,
  'pair-split': pairSplitExecutor,
  'qa-features': qaFeaturesExecutor,
} satisfies Partial<Record<NodeKind, NodeExecutor>>
