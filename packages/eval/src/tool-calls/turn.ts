import { fail, type Json } from '@tunekit/core'

/** One function call: the function's name and its arguments, a JSON object (`{}` for none). */
export interface ToolCall {
  /** Function name, e.g. `get_weather`. */
  name: string
  /** Arguments by name, e.g. `{ city: 'Paris', days: 3 }`. */
  arguments: { [name: string]: Json }
}

/** One assistant turn: a text answer, or one or more tool calls. */
export type ToolTurn = { text: string } | { calls: readonly ToolCall[] }

// One call as models write it: { "name": …, "arguments": {…} }. "parameters" (Llama 3.1's key) is
// taken for "arguments", and arguments written as a JSON string (OpenAI's wire format) are parsed.
function asCall(value: unknown): ToolCall | undefined {
  if (!isObject(value) || typeof value.name !== 'string' || value.name === '') return undefined
  let args: unknown = 'arguments' in value ? value.arguments : 'parameters' in value ? value.parameters : {}
  if (typeof args === 'string') args = parseJson(args)
  return isObject(args) ? { name: value.name, arguments: args as ToolCall['arguments'] } : undefined
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** A call object or an array of them; undefined when any element is not a call. */
function asCalls(value: unknown): ToolCall[] | undefined {
  const items = Array.isArray(value) ? value : [value]
  const calls = items.map(asCall)
  return calls.length > 0 && calls.every((c) => c !== undefined) ? (calls as ToolCall[]) : undefined
}

const TOOL_CALL_TAG = /<tool_call>([\s\S]*?)<\/tool_call>/g
const FENCE = /^```(?:json)?\s*([\s\S]*?)\s*```$/

/**
 * The tool calls a generated string holds, or `undefined` when it holds none that parse. Accepted:
 * one JSON call object `{"name": "f", "arguments": {...}}`, a JSON array of them, the same inside a
 * ```` ```json ```` fence, or one or more `<tool_call>…</tool_call>` blocks (the Hermes / Qwen
 * templates; text outside the blocks is ignored). A call needs a non-empty string `name`; its
 * `arguments` (or `parameters`) must be a JSON object or a string holding one, and may be left out
 * for a call without arguments.
 */
export function parseToolCalls(text: string): ToolCall[] | undefined {
  const blocks = [...text.matchAll(TOOL_CALL_TAG)].map((m) => m[1]!)
  if (blocks.length > 0) {
    const calls = blocks.map((block) => asCalls(parseJson(block.trim())))
    return calls.every((c) => c !== undefined) ? calls.flat() : undefined
  }
  const body = text.trim()
  return asCalls(parseJson(FENCE.exec(body)?.[1] ?? body))
}

/** A generated string as a turn: its tool calls when it parses as calls, else its text. */
export function predictedTurn(prediction: string | ToolTurn): { turn: ToolTurn; parsed: boolean } {
  if (typeof prediction !== 'string') return { turn: prediction, parsed: 'calls' in prediction }
  const calls = parseToolCalls(prediction)
  return calls ? { turn: { calls }, parsed: true } : { turn: { text: prediction }, parsed: false }
}

/**
 * A reference turn, checked: `{ text }`, `{ calls }` with at least one well-formed call, or a
 * string, read as calls when it parses as calls (see {@link parseToolCalls}) and as text otherwise.
 * Anything else is the catalog's TK603 at `references[index]`.
 */
export function referenceTurn(reference: unknown, index: number): ToolTurn {
  const path = `references[${index}]`
  if (typeof reference === 'string') return predictedTurn(reference).turn
  if (isObject(reference) && typeof reference.text === 'string' && !('calls' in reference)) return { text: reference.text }
  if (!isObject(reference) || !Array.isArray(reference.calls)) {
    fail('InvalidToolTurn', { path, value: reference }, `reference turn ${index} has neither a string "text" nor a "calls" list`)
  }
  if (reference.calls.length === 0) fail('InvalidToolTurn', { path: `${path}.calls`, value: [] }, `reference turn ${index} has an empty "calls" list`)
  const calls = reference.calls.map((call: unknown, j: number) => {
    const parsed = isObject(call) && isObject(call.arguments) ? asCall(call) : undefined
    if (!parsed) {
      fail('InvalidToolTurn', { path: `${path}.calls[${j}]`, value: call }, `call ${j} of reference turn ${index} is not { name: string, arguments: object }`)
    }
    return parsed
  })
  return { calls }
}
