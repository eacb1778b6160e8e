import { Template } from '@huggingface/jinja'
import { fail } from '@tunekit/core'
import type { Message } from '../formats/conversation.ts'
import { builtinTemplates, type BuiltinTemplate } from './builtins.ts'

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
 * Renders messages to text with the template (Jinja), as transformers' apply_chat_template does;
 * `tools` (parsed JSON tool definitions) is passed to templates that use it.
 */
export function renderChat(template: ChatTemplate, messages: readonly Message[], addGenerationPrompt = false, tools?: unknown): string {
  const context: Record<string, unknown> = {
    messages,
    add_generation_prompt: addGenerationPrompt,
    bos_token: template.bosToken,
    eos_token: template.eosToken,
  }
  if (tools !== undefined) context.tools = tools
  return template.compiled.render(context)
}

/**
 * Renders a conversation and finds each assistant message's character span by rendering prefixes:
 * the span of message i starts where `render(messages[0..i-1], add_generation_prompt)` ends and
 * stops where `render(messages[0..i])` ends, cut after the last turn-end string inside it (the
 * newline after `<|im_end|>` is not a label). No marker is ever searched in the token stream.
 * Throws (the caller reports TemplateRender) when a prefix is not a prefix of the full text.
 */
export function renderSpans(template: ChatTemplate, messages: readonly Message[], turnEnd: string, tools?: unknown): RenderedChat {
  if (template.jinja === builtinTemplates.chatml) return chatmlSpans(messages, turnEnd)
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

/**
 * The built-in ChatML template's output and spans without the Jinja interpreter (the bulk of
 * ChatML data goes through here); identical to the Jinja path, which a test checks.
 */
function chatmlSpans(messages: readonly Message[], turnEnd: string): RenderedChat {
  let text = ''
  const assistant: Span[] = []
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!
    const header = `<|im_start|>${m.role}\n`
    const start = text.length + header.length
    text += `${header}${m.content}<|im_end|>\n`
    if (m.role !== 'assistant') continue
    let end = text.length
    const cut = turnEnd === '' ? -1 : text.lastIndexOf(turnEnd)
    if (cut >= start) end = cut + turnEnd.length
    assistant.push({ start, end, message: i })
  }
  return { text, assistant }
}
