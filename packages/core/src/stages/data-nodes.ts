import type { GraphBuilder } from '../graph/builder.ts'
import { addModelNode } from '../graph/chain.ts'
import { imageReadPaths } from '../graph/image-reads.ts'
import { datasetInfoPick, formatReadPaths, sourceReadPaths } from '../graph/reads.ts'
import type { Recipe } from '../define.ts'
import { sourceNode } from '../nodes/source.ts'

/**
 * The data nodes every stage starts from: model, source → format → tokenize, split, collate. A Hub
 * dataset's own eval split (oasst_top1's `test`) runs through its own eval-source → eval-format →
 * eval-tokenize chain; split then takes all of `tokenize` for training and all of `eval-tokenize`
 * for eval. Executors find their inputs by kind, not by id.
 */
export async function addDataNodes(b: GraphBuilder, recipe: Recipe): Promise<void> {
  const { data } = recipe
  await addSourceNodes(b, recipe)
  await b.add('tokenize', ['format', 'model'])
  const evalSplit = data.split.evalSplit
  if (evalSplit !== undefined && data.source.kind === 'hub') {
    const source = { ...data.source, split: evalSplit }
    await b.add('source', [], { id: 'eval-source', params: { ...sourceNode.params(recipe), source }, reads: sourceReadPaths(source, b.options) })
    await b.add('format', ['eval-source'], { id: 'eval-format', reads: formatReadPaths(recipe, b.options) })
    await b.add('tokenize', ['eval-format', 'model'], { id: 'eval-tokenize' })
  }
  await b.add('split', b.has('eval-tokenize') ? ['tokenize', 'eval-tokenize'] : ['tokenize'])
  await b.add('collate', ['split'])
}

/** model, source → format: where every stage that reads records starts (tokenize is the stage's own choice). */
export async function addSourceNodes(b: GraphBuilder, recipe: Recipe): Promise<void> {
  await addModelNode(b, recipe)
  const files = sourceReadPaths(recipe.data.source, b.options)
  // A dataset_info entry's file_name picks its file among the source's (and enters the key).
  const pick = datasetInfoPick(recipe, b.options, files)
  const datasetInfo = pick ? { file: pick.file, name: pick.name, fileName: pick.fileName } : undefined
  await b.add('source', [], { ...(datasetInfo ? { extra: { datasetInfo } } : {}), reads: pick ? [pick.path] : files })
  // the images the records name: their bytes enter the format node's key (and so tokenize's)
  await b.add('format', ['source'], { reads: [...formatReadPaths(recipe, b.options), ...imageReadPaths(recipe, b.options, pick ? [pick.path] : files)] })
}
