import { join } from 'node:path'
import { inputOfKind, nodeParams, resolveModelDir, type NodeExecutor } from '@tunekit/core'
import { runTokenize, runTokenizeIds, runTokenizeText } from '../tokenize/run-tokenize.ts'
import { runTokenizePreferences } from '../tokenize/run-tokenize-preferences.ts'

/** The `tokenize` node: conversations (chat template + mask), documents (raw text), pre-tokenized records or preference records → token shards. */
export const tokenizeExecutor: NodeExecutor = async (ctx) => {
  const p = nodeParams('tokenize', ctx.node)
  const formatDir = inputOfKind(ctx, 'format')
  const modelDir = await resolveModelDir(inputOfKind(ctx, 'model'))
  const common = { maxLength: p.maxLength, truncation: p.truncation, tokens: p.tokens, trainableTokens: p.trainableTokens, key: ctx.node.key }
  if (p.render.kind === 'preference') {
    // preference stages: format's preferences.jsonl / unpaired.jsonl → pairs/ and unpaired/ shards
    const opts = { template: p.render.template, maxLength: p.maxLength, maxPromptLength: p.render.maxPromptLength, onError: p.onError, tokens: p.tokens, trainableTokens: p.trainableTokens }
    const { table } = await runTokenizePreferences(formatDir, modelDir, ctx.outDir, opts)
    ctx.emit({ type: 'log', node: ctx.node.id, level: 'info', message: `data checks\n${table}` })
    return
  }
  const { table } = p.render.kind === 'text'
    ? await runTokenizeText(join(formatDir, 'documents.jsonl'), modelDir, ctx.outDir, common)
    : p.render.kind === 'tokens'
      ? await runTokenizeIds(join(formatDir, 'tokens.jsonl'), modelDir, ctx.outDir, { ...common, onError: p.onError })
      : await runTokenize(join(formatDir, 'conversations.jsonl'), modelDir, ctx.outDir, { ...common, template: p.render.template, mask: p.render.mask, onError: p.onError })
  ctx.emit({ type: 'log', node: ctx.node.id, level: 'info', message: `data checks\n${table}` })
}
