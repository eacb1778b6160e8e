import { join } from 'node:path'
import { autoTemplateIssues, inputOfKind, nodeParams, resolveModelDir, TunekitError, type NodeContext, type NodeExecutor } from '@tunekit/core'
import { runTokenize, runTokenizeIds, runTokenizeText } from '../tokenize/run-tokenize.ts'
import { runTokenizePreferences } from '../tokenize/run-tokenize-preferences.ts'
import { runTokenizePrompts } from '../tokenize/run-tokenize-prompts.ts'

/** The rule that chose this node's template (graph.json's `template`): the recipe's own tokenize node only (a chained recipe's has its own). */
const templateRuleOf = (ctx: NodeContext): { templateRule?: string } =>
  ctx.graph.template && !ctx.node.id.includes('/') ? { templateRule: ctx.graph.template.rule } : {}

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
  if (p.render.kind === 'prompt') {
    // grpo: each conversation's prompt side, rendered with the generation prompt
    const { report } = await runTokenizePrompts(join(formatDir, 'conversations.jsonl'), modelDir, ctx.outDir, { template: p.render.template, maxPromptLength: p.render.maxPromptLength, onError: p.onError, tokens: p.tokens, trainableTokens: p.trainableTokens })
    ctx.emit({ type: 'log', node: ctx.node.id, level: 'info', message: `prompts: ${report.prompts} (longest ${report.longestPrompt} tokens, ${report.truncated} cut to maxPromptLength, ${report.skipped.length} skipped)` })
    return
  }
  // family 'auto' renders chat data with the checkpoint's own template unless data.template names one (the plan's check again)
  const missing = p.render.kind === 'chat' && p.family === 'auto' ? autoTemplateIssues(modelDir, p.render.template) : []
  if (missing.length > 0) throw new TunekitError(missing)
  const { table } = p.render.kind === 'text'
    ? await runTokenizeText(join(formatDir, 'documents.jsonl'), modelDir, ctx.outDir, common)
    : p.render.kind === 'tokens'
      ? await runTokenizeIds(join(formatDir, 'tokens.jsonl'), modelDir, ctx.outDir, { ...common, onError: p.onError })
      : await runTokenize(join(formatDir, 'conversations.jsonl'), modelDir, ctx.outDir, { ...common, template: p.render.template, mask: p.render.mask, onError: p.onError, ...templateRuleOf(ctx) })
  ctx.emit({ type: 'log', node: ctx.node.id, level: 'info', message: `data checks\n${table}` })
}
