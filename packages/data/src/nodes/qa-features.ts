import { inputOfKind, nodeParams, resolveModelDir, type NodeExecutor } from '@tunekit/core'
import { runQaFeatures } from '../qa/run-qa-features.ts'

/** The `qa-features` node: SQuAD records → held-out questions and training windows (start/end labels). */
export const qaFeaturesExecutor: NodeExecutor = async (ctx) => {
  const p = nodeParams('qa-features', ctx.node)
  const modelDir = await resolveModelDir(inputOfKind(ctx, 'model'))
  const r = await runQaFeatures(inputOfKind(ctx, 'source'), modelDir, ctx.outDir, p)
  ctx.emit({ type: 'log', node: ctx.node.id, level: 'info', message: `SQuAD v${r.version}: ${r.questions} questions; ${r.trainQuestions} train (${r.trainWindows} windows of ${r.maxLength} tokens, stride ${r.docStride}), ${r.evalQuestions} held out` })
  ctx.emit({ type: 'node-progress', node: ctx.node.id, done: r.trainWindows, unit: 'windows' })
}
