import { describeValue } from '../util/describe.ts'
import { checkTurns, normaliseRole, problem, type Message, type Role, type ToolDefinition } from './conversation.ts'
import { checkToolUse, parseCallText, parseToolCalls, parseToolDefinitions } from './tools.ts'

/** What one record turns into: the messages (checked) or a preference pair, plus tools if any. */
export type Parsed =
  | { kind: 'conversation'; messages: Message[]; tools?: ToolDefinition[] }
  | { kind: 'preference'; prompt: Message[]; chosen: Message; rejected: Message }
  | { kind: 'document'; text: string }

/** One raw record of a data source (a JSON object, a CSV row, a parquet row). */
export type DataRecord = Record<string, unknown>

/** What a record holds, for "missing field" reasons: data in another format shows at once. */
const fieldsOf = (record: DataRecord): string => {
  const keys = Object.keys(record)
  return keys.length === 0 ? 'the record has no fields' : `the record has ${keys.map((k) => JSON.stringify(k)).join(', ')}`
}

const text = (record: DataRecord, column: string, required: boolean): string | undefined => {
  const v = record[column]
  if (v === undefined || v === null || v === '') {
    if (required) problem(v === undefined ? `missing field ${JSON.stringify(column)} (${fieldsOf(record)})` : `field ${JSON.stringify(column)} is empty`)
    return undefined
  }
  if (typeof v === 'string') return v
  // A number is not silently trained as its decimal text: "42" and 42.0 are different answers.
  return problem(`field ${JSON.stringify(column)} is ${describeValue(v)}, not text`)
}

const msg = (role: Role, content: string): Message => ({ role, content })

// ── text (pretrain) ─────────────────────────────────────────────────────────────────────────
/** A raw document: the record's `text` field (a `.txt` line arrives as `{ text: line }`). */
export function parseText(record: DataRecord, column = 'text'): Parsed {
  return { kind: 'document', text: text(record, column, true)! }
}

// ── chatml-text ─────────────────────────────────────────────────────────────────────────────
const chatmlTurn = /<\|im_start\|>([^\n]*)\n([\s\S]*?)<\|im_end\|>\n?/g

/** A `text` column already in ChatML (`<|im_start|>role\n…<|im_end|>\n`), as oasst_top1. */
export function parseChatmlText(record: DataRecord, column = 'text'): Parsed {
  const source = text(record, column, true)!
  const messages: Message[] = []
  let end = 0
  for (const m of source.matchAll(chatmlTurn)) {
    if (source.slice(end, m.index).trim() !== '') problem(`text outside <|im_start|>…<|im_end|> at character ${end}`)
    const role = normaliseRole(m[1]!)
    if (!role) problem(`unknown role ${JSON.stringify(m[1])}`)
    messages.push(msg(role!, m[2]!))
    end = m.index + m[0].length
  }
  if (source.slice(end).trim() !== '')
    problem(source.indexOf('<|im_start|>', end) >= 0 ? 'a turn is not closed by <|im_end|>' : `text outside <|im_start|>…<|im_end|> at character ${end}`)
  checkTurns(messages)
  return { kind: 'conversation', messages }
}

// ── alpaca ──────────────────────────────────────────────────────────────────────────────────
export interface AlpacaColumns {
  prompt: string
  query?: string | undefined
  response: string
  system?: string | undefined
  history?: string | undefined
  chosen?: string | undefined
  rejected?: string | undefined
}
export const alpacaDefaults: AlpacaColumns = { prompt: 'instruction', query: 'input', response: 'output', system: 'system', history: 'history' }

/** instruction / input / output / system / history (`[[question, answer], …]`); chosen / rejected make a preference. */
export function parseAlpaca(record: DataRecord, c: AlpacaColumns = alpacaDefaults): Parsed {
  const messages: Message[] = []
  const system = c.system ? text(record, c.system, false) : undefined
  if (system) messages.push(msg('system', system))
  const history = c.history ? record[c.history] : undefined
  if (history !== undefined && history !== null) {
    if (!Array.isArray(history)) problem(`field ${JSON.stringify(c.history)} is not a list of [question, answer] pairs`)
    for (const [i, pair] of (history as unknown[]).entries()) {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string')
        problem(`history entry ${i + 1} is not a [question, answer] pair`)
      const [q, a] = pair as [string, string]
      messages.push(msg('user', q), msg('assistant', a))
    }
  }
  const instruction = text(record, c.prompt, true)!
  const input = c.query ? text(record, c.query, false) : undefined
  // LLaMA-Factory joins instruction and input with a newline
  messages.push(msg('user', input ? `${instruction}\n${input}` : instruction))
  if (c.chosen && c.rejected && record[c.chosen] !== undefined) {
    return { kind: 'preference', prompt: messages, chosen: msg('assistant', text(record, c.chosen, true)!), rejected: msg('assistant', text(record, c.rejected, true)!) }
  }
  messages.push(msg('assistant', text(record, c.response, true)!))
  checkTurns(messages)
  return { kind: 'conversation', messages }
}

// ── sharegpt ────────────────────────────────────────────────────────────────────────────────
export interface SharegptTags {
  messages: string
  system?: string | undefined
  tools?: string | undefined
  roleTag: string
  contentTag: string
  /** Role names as they appear in the data, mapped to normalised roles. */
  roles: Record<string, Role>
  /** The role name of turns whose value is a tool call's JSON (LLaMA-Factory's `function_tag`). */
  callTag: string
  chosen?: string | undefined
  rejected?: string | undefined
}
export const sharegptDefaults: SharegptTags = {
  messages: 'conversations',
  system: 'system',
  tools: 'tools',
  roleTag: 'from',
  contentTag: 'value',
  roles: { human: 'user', gpt: 'assistant', system: 'system', function_call: 'assistant', observation: 'tool' },
  callTag: 'function_call',
  chosen: 'chosen',
  rejected: 'rejected',
}

const turn = (value: unknown, t: SharegptTags, where: string): Message => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return problem(`${where} is ${describeValue(value)}, not an object`)
  const v = value as DataRecord
  const name = v[t.roleTag]
  if (typeof name !== 'string') problem(`${where} has no ${JSON.stringify(t.roleTag)}`)
  const role = t.roles[name as string] ?? normaliseRole(name as string)
  if (!role) problem(`${where} has unknown role ${JSON.stringify(name)}`)
  const content = v[t.contentTag]
  if (content === undefined) problem(`${where} has no ${JSON.stringify(t.contentTag)}`)
  if (typeof content !== 'string') problem(`${where}'s ${JSON.stringify(t.contentTag)} is ${describeValue(content)}, not text`)
  if (name === t.callTag) return { role: 'assistant', content: '', toolCalls: parseCallText(content as string, `${where} (${name})`) }
  return msg(role!, content as string)
}

/** A conversation's messages and tools, checked: turn order, then how tools are used. */
const conversation = (messages: Message[], tools: ToolDefinition[] | undefined): Parsed => {
  checkTurns(messages)
  checkToolUse(messages, tools)
  return tools ? { kind: 'conversation', messages, tools } : { kind: 'conversation', messages }
}

/** conversations of `{ from, value }` (human / gpt / system / function_call / observation), tools, system. */
export function parseSharegpt(record: DataRecord, t: SharegptTags = sharegptDefaults): Parsed {
  const list = record[t.messages] ?? (t.messages === 'conversations' ? record.messages : undefined)
  if (!Array.isArray(list)) return problem(`missing field ${JSON.stringify(t.messages)}, a list of turns (${fieldsOf(record)})`)
  const messages = list.map((v, i) => turn(v, t, `turn ${i + 1}`))
  const system = t.system ? text(record, t.system, false) : undefined
  if (system && messages[0]?.role !== 'system') messages.unshift(msg('system', system))
  if (t.chosen && t.rejected && record[t.chosen] !== undefined) {
    return { kind: 'preference', prompt: messages, chosen: turn(record[t.chosen], t, 'chosen'), rejected: turn(record[t.rejected], t, 'rejected') }
  }
  return conversation(messages, t.tools ? parseToolDefinitions(record[t.tools], `field ${JSON.stringify(t.tools)}`) : undefined)
}

// ── openai ──────────────────────────────────────────────────────────────────────────────────
const openaiContent = (content: unknown, where: string): string => {
  if (typeof content === 'string') return content
  if (content === null) return ''
  // content parts: [{ type: 'text', text }]
  if (Array.isArray(content)) {
    return content
      .map((p, j) => {
        const part = p as DataRecord
        if (part?.type !== 'text' || typeof part.text !== 'string') problem(`${where} part ${j + 1} is not a text part`)
        return part.text as string
      })
      .join('')
  }
  return problem(content === undefined ? `${where} has no content` : `${where}'s content is ${describeValue(content)}, not text`)
}

/**
 * One openai message: `tool_calls` on assistant turns (arguments as JSON text), `tool_call_id` on
 * tool turns; ChatGLM's `observation` role is a tool result and its `metadata` on an assistant turn
 * names the function whose arguments are the content.
 */
const openaiMessage = (m: unknown, i: number): Message => {
  const where = `message ${i + 1}`
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return problem(`${where} is ${describeValue(m)}, not an object`)
  const r = m as DataRecord
  const role = typeof r.role === 'string' ? normaliseRole(r.role) : undefined
  if (!role) problem(`${where} has unknown role ${JSON.stringify(r.role)}`)
  const calls = role === 'assistant' ? parseToolCalls(r.tool_calls, where) : undefined
  if (role === 'assistant' && !calls && typeof r.metadata === 'string' && r.metadata.trim() !== '')
    return { role: 'assistant', content: '', toolCalls: parseToolCalls([{ name: r.metadata.trim(), arguments: openaiContent(r.content, where) }], where)! }
  const out = msg(role!, calls && (r.content === null || r.content === undefined) ? '' : openaiContent(r.content, where))
  if (calls) out.toolCalls = calls
  if (role === 'tool' && typeof r.tool_call_id === 'string') out.toolCallId = r.tool_call_id
  return out
}

const openaiMessages = (list: unknown, field: string): Message[] => {
  if (!Array.isArray(list)) return problem(`missing field ${JSON.stringify(field)} (a list of { role, content })`)
  return list.map(openaiMessage)
}

/** Tool definitions: the record's `tools`, or (GLM-4) the `tools` of its system message. */
const openaiTools = (record: DataRecord): ToolDefinition[] | undefined => {
  if (record.tools !== undefined) return parseToolDefinitions(record.tools, 'field "tools"')
  const first = Array.isArray(record.messages) ? (record.messages[0] as DataRecord | undefined) : undefined
  return first?.role === 'system' && first.tools !== undefined ? parseToolDefinitions(first.tools, 'message 1\'s "tools"') : undefined
}

/** `messages: [{ role, content }]`; `chosen` / `rejected` message lists make a preference. */
export function parseOpenai(record: DataRecord): Parsed {
  if (Array.isArray(record.chosen) && Array.isArray(record.rejected)) {
    const chosen = openaiMessages(record.chosen, 'chosen')
    const rejected = openaiMessages(record.rejected, 'rejected')
    const prompt = Array.isArray(record.prompt) ? openaiMessages(record.prompt, 'prompt') : chosen.slice(0, -1)
    const c = chosen.at(-1)
    const r = rejected.at(-1)
    if (c?.role !== 'assistant' || r?.role !== 'assistant') problem('chosen and rejected must end with an assistant message')
    return { kind: 'preference', prompt, chosen: c!, rejected: r! }
  }
  if (!Array.isArray(record.messages)) return problem(`missing field "messages", a list of { role, content } (${fieldsOf(record)})`)
  return conversation(openaiMessages(record.messages, 'messages'), openaiTools(record))
}
