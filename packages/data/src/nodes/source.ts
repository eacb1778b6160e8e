import { nodeParams, type NodeExecutor } from '@tunekit/core'
import { runSource } from '../sources/run-source.ts'

/** The `source` node: the records, as `records.jsonl` + `source.json`. */
export const sourceExecutor: NodeExecutor = async (ctx) => {
  const p = nodeParams('source', ctx.node)
  const summary = await runSource(p.source, ctx.outDir, { baseDir: ctx.baseDir, limit: p.limit })
  ctx.emit({ type: 'node-progress', node: ctx.node.id, done: summary.records, unit: 'records' })
}
