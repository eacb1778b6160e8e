import { Template } from '@huggingface/jinja'
import { fail } from '@tunekit/core'
import type { Message, ToolDefinition } from '../formats/conversation.ts'
import { builtinTemplates, chatmlToolsIntro, chatmlToolsOutro, type BuiltinTemplate } from './builtins.ts'
import { hfMessages, hfTools } from './hf-context.ts'
import { toJsonText } from './json-text.ts'

/** A compiled chat template and the special strings it is rendered with. */
export interface ChatTemplate {
  /** Built-in name, `'model'` or `'custom'`. */
  name: string
  jinja: string
  compiled: Template
  bosToken: string
  eosToken: string
}

/** A supervised character range `[start, end)` of a rendered conversation, from one assistant message. */
export interface Span {
  start: number
  end: number
  /** Index of the message in the conversation. */
  message: number
}

export interface RenderedChat {
  text: string
  /** One span per assistant message, in order. */
  assistant: Span[]
}

export function chatTemplate(
  choice: BuiltinTemplate | 'model' | { jinja: string },
  opts: { bosToken: string; eosToken: string; modelTemplate?: string | undefined },
): ChatTemplate {
  let name: string
  let jinja: string
  if (typeof choice === 'object') {
    name = 'custom'
    jinja = choice.jinja
  } else if (choice === 'model') {
    if (!opts.modelTemplate)
      return fail('TemplateRender', { path: 'data.template', value: 'model' }, 'tokenizer_config.json', 'the model has no chat_template; pick a built-in template')
    name = 'model'
    jinja = opts.modelTemplate
  } else {
    name = choice
    jinja = builtinTemplates[choice]
  }
  let compiled: Template
  try {
    compiled = new Template(jinja)
  } catch (e) {
    return fail('TemplateRender', { path: 'data.template', value: name }, `template ${name}`, (e as Error).message)
  }
  return { name, jinja, compiled, bosToken: opts.bosToken, eosToken: opts.eosToken }
}

/**
 * Renders messages to text with the template (Jinja), as transformers' apply_chat_template does:
 * messages in Hugging Face's shape (`tool_calls`, `tool_call_id`) and, when the conversation has
 * tool definitions, `tools` as `[{ type: 'function', function }]`.
 */
export function renderChat(template: ChatTemplate, messages: readonly Message[], addGenerationPrompt = false, tools?: readonly ToolDefinition[]): string {
  const context: Record<string, unknown> = {
    messages: hfMessages(messages),
    add_generation_prompt: addGenerationPrompt,
    bos_token: template.bosToken,
    eos_token: template.eosToken,
  }
  if (tools !== undefined && tools.length > 0) context.tools = hfTools(tools)
  return template.compiled.render(context)
}

/**
 * Renders a conversation and finds each assistant message's character span by rendering prefixes:
 * the span of message i starts where `render(messages[0..i-1], add_generation_prompt)` ends and
 * stops where `render(messages[0..i])` ends, cut after the last turn-end string inside it (the
 * newline after `<|im_end|>` is not a label). No marker is ever searched in the token stream.
 * Throws (the caller reports TemplateRender) when a prefix is not a prefix of the full text.
 */
export function renderSpans(template: ChatTemplate, messages: readonly Message[], turnEnd: string, tools?: readonly ToolDefinition[]): RenderedChat {
  if (template.jinja === builtinTemplates.chatml) return chatmlSpans(messages, turnEnd, tools)
  const text = renderChat(template, messages, false, tools)
  const assistant: Span[] = []
  for (let i = 0; i < messages.length; i++) {
    if (messages[i]!.role !== 'assistant') continue
    const before = renderChat(template, messages.slice(0, i), true, tools)
    const through = i === messages.length - 1 ? text : renderChat(template, messages.slice(0, i + 1), false, tools)
    if (!text.startsWith(through) || !through.startsWith(before))
      throw new Error(`rendering messages 1..${i + 1} does not give a prefix of the whole conversation, so turn boundaries are unknown`)
    let end = through.length
    const cut = through.lastIndexOf(turnEnd)
    if (turnEnd !== '' && cut >= before.length) end = cut + turnEnd.length
    assistant.push({ start: before.length, end, message: i })
  }
  return { text, assistant }
}

/** ChatML's system turn with the tool list (and the system message's text before it). */
const chatmlToolsTurn = (system: string | undefined, tools: readonly ToolDefinition[]): string =>
  `<|im_start|>system\n${system === undefined ? '' : `${system}\n\n`}${chatmlToolsIntro}${hfTools(tools).map((t) => `\n${toJsonText(t)}`).join('')}${chatmlToolsOutro}<|im_end|>\n`

/** The text of one ChatML message, given its neighbours' roles (tool results share a user turn). */
function chatmlMessage(m: Message, prev: Message | undefined, next: Message | undefined): string {
  if (m.role === 'tool') {
    const open = prev?.role === 'tool' ? '' : '<|im_start|>user'
    const close = next?.role === 'tool' ? '' : '<|im_end|>\n'
    return `${open}\n<tool_response>\n${m.content}\n</tool_response>${close}`
  }
  if (m.role === 'assistant' && m.toolCalls && m.toolCalls.length > 0) {
    const calls = m.toolCalls.map((c, j) => `${m.content || j > 0 ? '\n' : ''}<tool_call>\n{"name": "${c.name}", "arguments": ${toJsonText(c.arguments)}}\n</tool_call>`)
    return `<|im_start|>assistant\n${m.content}${calls.join('')}<|im_end|>\n`
  }
  return `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`
}

/**
 * The built-in ChatML template's output and spans without the Jinja interpreter (the bulk of
 * ChatML data goes through here); identical to the Jinja path, which a test checks.
 */
function chatmlSpans(messages: readonly Message[], turnEnd: string, tools: readonly ToolDefinition[] | undefined): RenderedChat {
  const withTools = tools !== undefined && tools.length > 0
  let text = withTools ? chatmlToolsTurn(messages[0]?.role === 'system' ? messages[0].content : undefined, tools) : ''
  const assistant: Span[] = []
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!
    if (withTools && i === 0 && m.role === 'system') continue
    const start = text.length + '<|im_start|>assistant\n'.length
    text += chatmlMessage(m, messages[i - 1], messages[i + 1])
    if (m.role !== 'assistant') continue
    let end = text.length
    const cut = turnEnd === '' ? -1 : text.lastIndexOf(turnEnd)
    if (cut >= start) end = cut + turnEnd.length
    assistant.push({ start, end, message: i })
  }
  return { text, assistant }
}
