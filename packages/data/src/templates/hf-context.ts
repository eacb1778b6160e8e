import type { JsonObject, Message, ToolDefinition } from '../formats/conversation.ts'

/** A message as transformers' `apply_chat_template` hands it to a chat template. */
export interface HfMessage {
  role: string
  content: string
  tool_calls?: { type: 'function'; id?: string; function: { name: string; arguments: JsonObject } }[]
  tool_call_id?: string
}

/** A tool as apply_chat_template passes it in `tools` (what a Python function's schema becomes). */
export interface HfTool {
  type: 'function'
  function: ToolDefinition
}

/**
 * Messages in the shape Hugging Face templates read (`message.tool_calls[i].function.name`,
 * `.arguments` as an object, `tool_call_id`), so a model's own template and tunekit's built-ins
 * (which go into tokenizer_config.json) see what transformers would give them.
 */
export function hfMessages(messages: readonly Message[]): HfMessage[] {
  return messages.map((m) => {
    const out: HfMessage = { role: m.role, content: m.content }
    if (m.toolCalls) out.tool_calls = m.toolCalls.map((c) => ({ type: 'function', ...(c.id === undefined ? {} : { id: c.id }), function: { name: c.name, arguments: c.arguments } }))
    if (m.toolCallId !== undefined) out.tool_call_id = m.toolCallId
    return out
  })
}

export const hfTools = (tools: readonly ToolDefinition[]): HfTool[] => tools.map((t) => ({ type: 'function', function: t }))
