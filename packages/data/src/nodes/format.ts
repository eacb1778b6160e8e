import { inputOfKind, nodeParams, type NodeExecutor } from '@tunekit/core'
import { runFormat } from '../formats/run-format.ts'

/** The `format` node: records → conversations (or documents for data.format 'text'). */
export const formatExecutor: NodeExecutor = async (ctx) => {
  const p = nodeParams('format', ctx.node)
  const summary = await runFormat(p.format, inputOfKind(ctx, 'source'), ctx.outDir, { onError: p.onError, baseDir: ctx.baseDir })
  for (const s of summary.skipped) ctx.emit({ type: 'log', node: ctx.node.id, level: 'warn', message: `skipped ${s.where}: ${s.reason}` })
  const done = summary.documents > 0 ? summary.documents : summary.conversations
  ctx.emit({ type: 'node-progress', node: ctx.node.id, done, unit: summary.documents > 0 ? 'documents' : 'conversations' })
}
