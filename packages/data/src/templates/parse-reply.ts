/**
 * The inverse of a built-in template's assistant turn: an assistant's text (as rendered, or as a
 * model generated it) back into its text and its tool calls. The tokenize checks use it on the
 * rendered turns; generation and evaluation can use it on what a model writes.
 */
import { RecordProblem, type ToolCall } from '../formats/conversation.ts'
import { parseCallText } from '../formats/tools.ts'
import type { BuiltinTemplate } from './builtins.ts'

/** An assistant reply: its text, the calls that parsed, and why the others did not. */
export interface ParsedReply {
  content: string
  toolCalls: ToolCall[]
  /** One reason per call that is not valid JSON with a name and object arguments. */
  invalid: string[]
}

/** Calls from JSON text, each reason kept instead of thrown. */
function callsFrom(json: string, where: string, into: ParsedReply): void {
  try {
    into.toolCalls.push(...parseCallText(json, where))
  } catch (e) {
    if (!(e instanceof RecordProblem)) throw e
    into.invalid.push(e.message)
  }
}

/** ChatML (Hermes / Qwen2.5): text, then `<tool_call>\n{…}\n</tool_call>` blocks. */
function chatmlReply(text: string): ParsedReply {
  const first = text.indexOf('<tool_call>')
  const reply: ParsedReply = { content: first < 0 ? text : text.slice(0, first).replace(/\n$/, ''), toolCalls: [], invalid: [] }
  if (first < 0) return reply
  const blocks = text.slice(first).split('<tool_call>').slice(1)
  blocks.forEach((block, i) => {
    const end = block.indexOf('</tool_call>')
    if (end < 0) reply.invalid.push(`tool call ${i + 1} is not closed by </tool_call>`)
    else callsFrom(block.slice(0, end).trim(), `tool call ${i + 1}`, reply)
  })
  return reply
}

/** Llama 3.1: the whole reply is `{"name": …, "parameters": {…}}` when it is a call. */
function llamaReply(text: string): ParsedReply {
  const trimmed = text.trim()
  if (!/^\{\s*"name"\s*:/.test(trimmed)) return { content: text, toolCalls: [], invalid: [] }
  const reply: ParsedReply = { content: '', toolCalls: [], invalid: [] }
  try {
    const call = JSON.parse(trimmed) as Record<string, unknown>
    callsFrom(JSON.stringify({ name: call.name, arguments: call.parameters ?? call.arguments }), 'tool call 1', reply)
  } catch {
    reply.invalid.push(`tool call 1 is not JSON: ${JSON.stringify(trimmed.slice(0, 60))}`)
  }
  return reply
}

/** Mistral v3: `[TOOL_CALLS] [{"name", "arguments", "id"?}, …]` when it is a call. */
function mistralReply(text: string): ParsedReply {
  const trimmed = text.trim()
  if (!trimmed.startsWith('[TOOL_CALLS]')) return { content: text, toolCalls: [], invalid: [] }
  const reply: ParsedReply = { content: '', toolCalls: [], invalid: [] }
  callsFrom(trimmed.slice('[TOOL_CALLS]'.length).trim(), 'tool calls', reply)
  return reply
}

/**
 * Splits an assistant reply written in `template`'s layout into text and tool calls; a trailing
 * `turnEnd` (the eos the turn ends with) is left out first. Templates without a tool layout give
 * the text back with no calls.
 */
export function parseReply(template: BuiltinTemplate, text: string, turnEnd = ''): ParsedReply {
  const body = turnEnd !== '' && text.endsWith(turnEnd) ? text.slice(0, -turnEnd.length) : text
  if (template === 'chatml') return chatmlReply(body)
  if (template === 'llama-3') return llamaReply(body)
  if (template === 'mistral-instruct') return mistralReply(body)
  return { content: body, toolCalls: [], invalid: [] }
}
