/**
 * Tool definitions, tool calls and tool results as the formats write them, checked and turned into
 * the conversation model (conversation.ts). Every problem names the message and becomes a catalog
 * error for the record (BadToolDefinitions, BadToolCall, ToolResultWithoutCall, UnknownTool).
 */
import { describeValue } from '../util/describe.ts'
import { problem, type JsonObject, type JsonValue, type Message, type ToolCall, type ToolDefinition } from './conversation.ts'

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v)

/** JSON text parsed, or undefined when it is not JSON. */
const parseJson = (text: string): { value: JsonValue } | undefined => {
  try {
    return { value: JSON.parse(text) as JsonValue }
  } catch {
    return undefined
  }
}

/**
 * Tool definitions from a record: a list (or its JSON text) of OpenAI-style
 * `{ type: 'function', function: { name, description, parameters } }` or bare `{ name, … }`
 * functions, the two shapes LLaMA-Factory and Hugging Face accept. Empty or absent: undefined.
 */
export function parseToolDefinitions(value: unknown, where: string): ToolDefinition[] | undefined {
  if (value === undefined || value === null || value === '') return undefined
  let list: unknown = value
  if (typeof value === 'string') {
    const parsed = parseJson(value)
    if (!parsed) return problem(`${where} is not JSON: ${JSON.stringify(value.slice(0, 40))}`, 'BadToolDefinitions')
    list = parsed.value
  }
  if (!Array.isArray(list)) return problem(`${where} is ${describeValue(list)}, not a list of functions`, 'BadToolDefinitions')
  if (list.length === 0) return undefined
  return list.map((item, i) => {
    const fn = isObject(item) && item.type === 'function' && isObject(item.function) ? item.function : item
    if (!isObject(fn) || typeof fn.name !== 'string' || fn.name === '')
      return problem(`${where} entry ${i + 1} is ${describeValue(item)}, not a function with a name`, 'BadToolDefinitions')
    const def: ToolDefinition = { name: fn.name }
    if (typeof fn.description === 'string') def.description = fn.description
    if (fn.parameters !== undefined) {
      if (!isObject(fn.parameters)) return problem(`${where} entry ${i + 1} (${fn.name}): parameters is ${describeValue(fn.parameters)}, not a JSON Schema object`, 'BadToolDefinitions')
      def.parameters = fn.parameters
    }
    return def
  })
}

/** Arguments as an object: given as one, or as JSON text of one (openai's `function.arguments`). */
const callArguments = (value: unknown, where: string): JsonObject => {
  if (value === undefined || value === null || value === '') return {}
  if (isObject(value)) return value
  if (typeof value === 'string') {
    const parsed = parseJson(value)
    if (!parsed) return problem(`${where}: the arguments are not JSON: ${JSON.stringify(value.slice(0, 60))}`, 'BadToolCall')
    if (isObject(parsed.value)) return parsed.value
    return problem(`${where}: the arguments are ${describeValue(parsed.value)}, not a JSON object`, 'BadToolCall')
  }
  return problem(`${where}: the arguments are ${describeValue(value)}, not a JSON object`, 'BadToolCall')
}

/** One call as `{ name, arguments }` or openai's `{ id, type: 'function', function: { name, arguments } }`. */
export function toolCallOf(value: unknown, where: string): ToolCall {
  const outer = isObject(value) ? value : undefined
  const fn = outer && isObject(outer.function) ? outer.function : outer
  if (!fn || typeof fn.name !== 'string' || fn.name === '') return problem(`${where} is ${describeValue(value)}, not a call with a function name`, 'BadToolCall')
  const call: ToolCall = { name: fn.name, arguments: callArguments(fn.arguments, `${where} (${fn.name})`) }
  if (outer && typeof outer.id === 'string') call.id = outer.id
  return call
}

/**
 * A sharegpt `function_call` turn's text: the JSON of one call `{"name", "arguments"}` or of a
 * list of them (parallel calls), as LLaMA-Factory writes them.
 */
export function parseCallText(text: string, where: string): ToolCall[] {
  const parsed = parseJson(text)
  if (!parsed) return problem(`${where} is not a JSON tool call: ${JSON.stringify(text.slice(0, 60))}`, 'BadToolCall')
  const calls = Array.isArray(parsed.value) ? parsed.value : [parsed.value]
  if (calls.length === 0) return problem(`${where} is an empty list of tool calls`, 'BadToolCall')
  return calls.map((c, i) => toolCallOf(c, calls.length === 1 ? where : `${where} call ${i + 1}`))
}

/** openai's assistant `tool_calls` list. */
export function parseToolCalls(value: unknown, where: string): ToolCall[] | undefined {
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value)) return problem(`${where}'s tool_calls is ${describeValue(value)}, not a list`, 'BadToolCall')
  if (value.length === 0) return undefined
  return value.map((c, i) => toolCallOf(c, `${where} tool call ${i + 1}`))
}

/**
 * Checks how a conversation uses tools: every tool result follows an assistant turn that calls a
 * tool (a `toolCallId` must be one of that turn's ids), and with definitions declared every call
 * names one of them.
 */
export function checkToolUse(messages: readonly Message[], tools: readonly ToolDefinition[] | undefined): void {
  const names = tools ? new Set(tools.map((t) => t.name)) : undefined
  let caller: { index: number; calls: readonly ToolCall[] } | undefined
  for (const [i, m] of messages.entries()) {
    if (m.role === 'assistant') {
      caller = m.toolCalls ? { index: i, calls: m.toolCalls } : undefined
      for (const call of m.toolCalls ?? []) {
        if (names && !names.has(call.name))
          problem(`message ${i + 1} calls ${JSON.stringify(call.name)}, which is not among the tools (${[...names].map((n) => JSON.stringify(n)).join(', ')})`, 'UnknownTool')
      }
    } else if (m.role === 'tool') {
      if (!caller) problem(`message ${i + 1} is a tool result, but message ${i} calls no tool`, 'ToolResultWithoutCall')
      if (m.toolCallId !== undefined && caller!.calls.some((c) => c.id !== undefined) && !caller!.calls.some((c) => c.id === m.toolCallId))
        problem(`message ${i + 1} answers tool call ${JSON.stringify(m.toolCallId)}, which message ${caller!.index + 1} does not make`, 'ToolResultWithoutCall')
    } else caller = undefined
  }
}
