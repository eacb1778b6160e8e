import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fail, writeFileAtomic, writeJsonAtomic } from '@tunekit/core'
import type { Conversation } from '../formats/conversation.ts'
import { builtinTemplates, turnEnd, type BuiltinTemplate } from '../templates/builtins.ts'
import { chatTemplate, renderChat } from '../templates/render.ts'
import { savedChatTemplate } from '../templates/saved-template.ts'
import { loadTokenizer, type TokenChoices } from '../tokenizer/load.ts'
import { saveTokenizer } from '../tokenizer/save.ts'
import { readJsonLines } from '../util/lines.ts'
import { encodePrompt } from './encode-prompt.ts'
import { modelChatTemplate, type TemplateChoice } from './run-tokenize.ts'
import { skipUnrendered } from './tokenize.ts'
import { trainableTokenIds } from './trainable-tokens.ts'

/** One line of a prompt artifact's `prompts.jsonl` (render `prompt`, the grpo stage). */
export interface PromptLine {
  /** The format step's record id. */
  id: string
  /** The prompt rendered with the generation prompt, encoded (bos first when the tokenizer adds one); its end kept at maxPromptLength. */
  promptIds: number[]
  /** The turns before the last assistant turn (the prompt side), as the format step wrote them. */
  messages: { role: string; content: string }[]
  /** The last assistant turn's text, when the conversation has one: the reference answer. */
  answer?: string
}

export interface RunTokenizePromptsOptions {
  template: TemplateChoice
  maxPromptLength: number
  onError: 'fail' | 'skip'
  tokens: TokenChoices
  /** `lora.trainableTokens`, resolved to ids into index.json (`trainableTokenIds`). @defaultValue false */
  trainableTokens?: boolean | readonly string[]
}

/** What the prompt step did (`report.json`). */
export interface PromptReport {
  template: string
  prompts: number
  longestPrompt: number
  /** Prompts longer than maxPromptLength, their start cut (TRL keeps a prompt's end). */
  truncated: number
  skipped: { where: string; reason: string }[]
}

/**
 * The tokenize node for online RL (render `prompt`): each conversation of `conversations.jsonl`
 * split at its last assistant turn; the turns before it rendered with the generation prompt and
 * encoded as generation encodes a prompt (`encodePrompt`), that turn's text kept as the answer.
 * Writes `prompts.jsonl`, `index.json` (`{ prompts, eosId, padId, bosId, trainableTokenIds }`),
 * `tokenizer/`, `chat_template.jinja` and `report.json`.
 */
export async function runTokenizePrompts(conversationsPath: string, modelDir: string, outDir: string, opts: RunTokenizePromptsOptions): Promise<{ report: PromptReport }> {
  await mkdir(outDir, { recursive: true })
  const builtin = typeof opts.template === 'string' && opts.template in builtinTemplates ? (opts.template as BuiltinTemplate) : undefined
  const tok = await loadTokenizer(modelDir, opts.tokens, { eos: builtin ? turnEnd[builtin] : undefined })
  const template = chatTemplate(opts.template, { bosToken: tok.bos?.token ?? '', eosToken: tok.eos.token, modelTemplate: modelChatTemplate(tok.config.chat_template) })
  const report: PromptReport = { template: template.name, prompts: 0, longestPrompt: 0, truncated: 0, skipped: [] }
  const lines: string[] = []
  for await (const c of readJsonLines<Conversation>(conversationsPath)) {
    // a prompt without its image tokens and pixels would sample from text alone: refused, not degraded
    if (c.images?.length) fail('BadRecord', { path: 'data.format', value: `conversation ${c.id}` }, `conversation ${c.id}`, `it has ${c.images.length} image(s), and the grpo stage does not read images yet (multimodal training is sft)`)
    const last = c.messages.findLastIndex((m) => m.role === 'assistant')
    const prompt = last < 0 ? c.messages : c.messages.slice(0, last)
    let ids: number[]
    try {
      ids = encodePrompt(tok, renderChat(template, prompt, true, c.tools))
    } catch (e) {
      skipUnrendered(report.skipped, { onError: opts.onError, template }, `conversation ${c.id}`, e)
      continue
    }
    if (ids.length > opts.maxPromptLength) {
      report.truncated++
      ids = ids.slice(ids.length - opts.maxPromptLength)
    }
    report.prompts++
    report.longestPrompt = Math.max(report.longestPrompt, ids.length)
    const line: PromptLine = { id: c.id, promptIds: ids, messages: prompt.map((m) => ({ role: m.role, content: m.content })), ...(last < 0 ? {} : { answer: c.messages[last]!.content }) }
    lines.push(JSON.stringify(line))
  }
  if (report.prompts === 0) fail('GrpoNoPrompts', { path: 'data.source', value: conversationsPath }, report.skipped.length)
  await writeFileAtomic(join(outDir, 'prompts.jsonl'), `${lines.join('\n')}\n`)
  const trainable = trainableTokenIds(opts.trainableTokens ?? false, { chatml: opts.tokens.chatml ?? false, add: opts.tokens.add ?? [] }, tok.idOf)
  await writeJsonAtomic(join(outDir, 'index.json'), { prompts: report.prompts, eosId: tok.eos.id, padId: tok.pad.id, bosId: tok.addBos && tok.bos ? tok.bos.id : null, trainableTokenIds: trainable })
  const jinja = savedChatTemplate(template, tok)
  await saveTokenizer(tok, join(outDir, 'tokenizer'), jinja)
  if (jinja !== undefined) await writeFileAtomic(join(outDir, 'chat_template.jinja'), jinja)
  await writeJsonAtomic(join(outDir, 'report.json'), report)
  return { report }
}

/** The prompts of a prompt artifact (render `prompt`), in record order. */
export async function readPrompts(tokenizeDir: string): Promise<PromptLine[]> {
  const text = await readFile(join(tokenizeDir, 'prompts.jsonl'), 'utf8')
  return text.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as PromptLine)
}
