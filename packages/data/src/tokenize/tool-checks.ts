/**
 * The tokenize step's tool checks: a template that silently drops tool definitions or calls would
 * train a model on calls it was never shown, or never train the calls at all. Each conversation
 * with tools is checked on its rendered text: every definition's name and parameter names appear
 * outside the assistant turns, and every call comes back from its assistant turn's text as JSON
 * with the same arguments: parsed by the layout for the built-ins that have one (the same calls in
 * the same order), else found as a JSON object equal to the arguments in a turn that names it.
 */
import type { JsonValue, Message, ToolCall, ToolDefinition } from '../formats/conversation.ts'
import type { BuiltinTemplate } from '../templates/builtins.ts'
import { parseReply } from '../templates/parse-reply.ts'
import type { RenderedChat } from '../templates/render.ts'

/** The built-ins with a tool layout: their calls are parsed back by parseReply, exactly. */
const layouts: readonly string[] = ['chatml', 'llama-3', 'mistral-instruct'] satisfies BuiltinTemplate[]

/** What went wrong, as a catalog entry name and a reason naming the definition or the message. */
export interface ToolRenderProblem {
  error: 'ToolsNotRendered' | 'ToolCallNotRendered'
  reason: string
}

/** The end (exclusive) of the JSON object or array starting at `from`, skipping over strings; -1 if it does not close. */
function jsonEnd(text: string, from: number): number {
  let depth = 0
  let inString = false
  for (let i = from; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
    } else if (c === '"') inString = true
    else if (c === '{' || c === '[') depth++
    else if (c === '}' || c === ']') {
      depth--
      if (depth === 0) return i + 1
    }
  }
  return -1
}

/** Every JSON object in `text`: each `{`/`[` that opens valid JSON, and the objects nested in it. */
export function jsonObjectsIn(text: string): Record<string, JsonValue>[] {
  const found: Record<string, JsonValue>[] = []
  const collect = (v: JsonValue): void => {
    if (Array.isArray(v)) v.forEach(collect)
    else if (v !== null && typeof v === 'object') {
      found.push(v)
      Object.values(v).forEach(collect)
    }
  }
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '{' && text[i] !== '[') continue
    const end = jsonEnd(text, i)
    if (end < 0) continue
    try {
      collect(JSON.parse(text.slice(i, end)) as JsonValue)
      i = end - 1
    } catch {
      // not JSON from here: a later brace may open some
    }
  }
  return found
}

const sameJson = (a: JsonValue | undefined, b: JsonValue): boolean => {
  if (a === undefined) return false
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]!))
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b
  const keys = Object.keys(b)
  return Object.keys(a).length === keys.length && keys.every((k) => sameJson(a[k], b[k]!))
}

/** The text outside the assistant spans: where definitions and results belong. */
const promptText = (rendered: RenderedChat): string => {
  let out = ''
  let at = 0
  for (const s of rendered.assistant) {
    out += rendered.text.slice(at, s.start)
    at = s.end
  }
  return out + rendered.text.slice(at)
}

/** Whether a rendered turn gives back `calls`: by the built-in's layout, or by a JSON search. */
function callsComeBack(text: string, calls: readonly ToolCall[], template: string, turnEnd: string): number {
  if (layouts.includes(template)) {
    const reply = parseReply(template as BuiltinTemplate, text, turnEnd)
    const bad = calls.findIndex((c, i) => reply.toolCalls[i]?.name !== c.name || !sameJson(reply.toolCalls[i]!.arguments, c.arguments))
    return reply.invalid.length > 0 || reply.toolCalls.length !== calls.length ? Math.max(bad, 0) : bad
  }
  const objects = jsonObjectsIn(text)
  return calls.findIndex((c) => !text.includes(c.name) || !objects.some((o) => sameJson(o, c.arguments)))
}

/**
 * The first problem of a rendered conversation's tools, or undefined; counts what it checked.
 * `template` is the template's name (a built-in's, or 'model' / 'custom'), `turnEnd` the string
 * assistant spans end with.
 */
export function toolRenderProblem(
  rendered: RenderedChat,
  messages: readonly Message[],
  tools: readonly ToolDefinition[] | undefined,
  counts: { definitions: number; calls: number },
  template: string,
  turnEnd: string,
): ToolRenderProblem | undefined {
  const prompt = tools && tools.length > 0 ? promptText(rendered) : ''
  for (const t of tools ?? []) {
    counts.definitions++
    const params = t.parameters?.properties
    const names = [t.name, ...(params && typeof params === 'object' && !Array.isArray(params) ? Object.keys(params) : [])]
    const missing = names.find((n) => !prompt.includes(n))
    if (missing !== undefined)
      return { error: 'ToolsNotRendered', reason: `the template leaves out tool ${JSON.stringify(t.name)}${missing === t.name ? '' : ` (its parameter ${JSON.stringify(missing)})`}: it is not in the rendered text outside the assistant turns` }
  }
  for (const span of rendered.assistant) {
    const calls = messages[span.message]!.toolCalls ?? []
    if (calls.length === 0) continue
    counts.calls += calls.length
    const bad = callsComeBack(rendered.text.slice(span.start, span.end), calls, template, turnEnd)
    if (bad >= 0) {
      const call = calls[bad]!
      return { error: 'ToolCallNotRendered', reason: `message ${span.message + 1}'s call to ${JSON.stringify(call.name)} does not parse back from the rendered turn as JSON with its arguments ${JSON.stringify(call.arguments)}` }
    }
  }
  return undefined
}
