import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { inputOfKind, type NodeContext } from '@tunekit/core'
import { klCompletionOf, requireKtoExamples, type KtoExample } from '@tunekit/data'

/**
 * The kto stage's examples for the worker (node.json's `ktoExamples`): where each comes from in the
 * tokenize artifact (`['pairs', i, 'chosen' | 'rejected']` or `['unpaired', i]`, @tunekit/data's
 * requireKtoExamples order, the order tfjs batches) and, with a KL term, the example whose completion
 * is each one's KL completion (klCompletionOf over `klBatchSize`). NoKtoExamples before the worker starts.
 */
export async function writeKtoExamples(ctx: NodeContext, klBatchSize: number | undefined): Promise<{ file: string; examples: KtoExample[] }> {
  const { examples } = await requireKtoExamples(inputOfKind(ctx, 'tokenize'))
  const file = join(ctx.workDir, 'kto-examples.json')
  await mkdir(ctx.workDir, { recursive: true })
  await writeFile(file, JSON.stringify({ examples: examples.map((e) => e.source), klOf: klBatchSize === undefined ? null : klCompletionOf(examples.length, klBatchSize) }))
  return { file, examples }
}
