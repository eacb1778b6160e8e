import { inputOfKind, nodeParams, type NodeExecutor } from '@tunekit/core'
import { runFormat } from '../formats/run-format.ts'

/** The `format` node: records → conversations (documents for data.format 'text', ids and masks for 'tokens'). */
export const formatExecutor: NodeExecutor = async (ctx) => {
  const p = nodeParams('format', ctx.node)
  const summary = await runFormat(p.format, inputOfKind(ctx, 'source'), ctx.outDir, { onError: p.onError, baseDir: ctx.baseDir })
  for (const s of summary.skipped) ctx.emit({ type: 'log', node: ctx.node.id, level: 'warn', message: `skipped ${s.where}: ${s.reason}` })
  const [done, unit] =
    summary.documents > 0 ? [summary.documents, 'documents']
    : summary.tokenized > 0 ? [summary.tokenized, 'samples']
    : summary.conversations === 0 && summary.preferences + summary.unpaired > 0 ? [summary.preferences + summary.unpaired, 'preference records']
    : [summary.conversations, 'conversations']
  ctx.emit({ type: 'node-progress', node: ctx.node.id, done, unit })
}
