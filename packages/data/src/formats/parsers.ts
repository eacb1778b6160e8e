import { describeValue } from '../util/describe.ts'
import { checkTurns, normaliseRole, problem, type Message, type Role, type ToolDefinition } from './conversation.ts'
import { checkPlaceholders, imageColumn, imagePlaceholder, imageUrlPath } from './images.ts'
import { preferenceOf, splitSharedPrompt, unpairedOf, type ParsedPreference } from './preference.ts'
import { checkToolUse, parseCallText, parseToolCalls, parseToolDefinitions } from './tools.ts'

/** What one record turns into: the messages (checked), a preference pair or a KTO example, plus tools if any. */
export type Parsed =
  | { kind: 'conversation'; messages: Message[]; tools?: ToolDefinition[]; images?: string[] }
  | ParsedPreference
  | { kind: 'document'; text: string }
  | { kind: 'tokens'; ids: number[]; mask: number[] }

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

/**
 * A conversation with the images the record declares (paths as written): their count must equal
 * the `<image>` placeholders'. Preference and KTO records with images are refused, not trained blind.
 */
const withImages = (parsed: Parsed, images: string[] | undefined): Parsed => {
  if (images === undefined) return parsed
  if (parsed.kind !== 'conversation') return problem(`the record has ${images.length} image(s); tunekit reads images for sft conversations only, not for preference or KTO records`)
  checkPlaceholders(parsed.messages, images)
  return { ...parsed, images }
}

/** A preference answer's text: missing or empty is BadPreference (a side that says nothing). */
const answerText = (record: DataRecord, column: string): string => {
  const v = record[column]
  if (v === undefined || v === null || v === '') problem(v === undefined ? `missing field ${JSON.stringify(column)} (${fieldsOf(record)})` : `field ${JSON.stringify(column)} is empty`, 'BadPreference')
  return text(record, column, true)!
}

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
  /** LLaMA-Factory's `kto_tag`: the column holding KTO's true / false label. */
  ktoTag?: string | undefined
  /** LLaMA-Factory's `images`: the column of image paths (relative to the data file's folder). */
  images?: string | undefined
}
export const alpacaDefaults: AlpacaColumns = { prompt: 'instruction', query: 'input', response: 'output', system: 'system', history: 'history', images: 'images' }

/** instruction / input / output / system / history (`[[question, answer], …]`), images; chosen / rejected make a preference. */
export function parseAlpaca(record: DataRecord, c: AlpacaColumns = alpacaDefaults): Parsed {
  return withImages(alpacaRecord(record, c), c.images ? imageColumn(record[c.images], c.images) : undefined)
}

function alpacaRecord(record: DataRecord, c: AlpacaColumns): Parsed {
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
    return preferenceOf(messages, [msg('assistant', answerText(record, c.chosen))], [msg('assistant', answerText(record, c.rejected))])
  }
  if (c.ktoTag) return unpairedOf(messages, [msg('assistant', answerText(record, c.response))], record[c.ktoTag], c.ktoTag)
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
  /** LLaMA-Factory's `kto_tag`: the column holding KTO's true / false label (the last turn is the completion). */
  ktoTag?: string | undefined
  /** LLaMA-Factory's `images`: the column of image paths (relative to the data file's folder). */
  images?: string | undefined
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
  images: 'images',
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

/** conversations of `{ from, value }` (human / gpt / system / function_call / observation), tools, system, images. */
export function parseSharegpt(record: DataRecord, t: SharegptTags = sharegptDefaults): Parsed {
  return withImages(sharegptRecord(record, t), t.images ? imageColumn(record[t.images], t.images) : undefined)
}

function sharegptRecord(record: DataRecord, t: SharegptTags): Parsed {
  const list = record[t.messages] ?? (t.messages === 'conversations' ? record.messages : undefined)
  if (!Array.isArray(list)) return problem(`missing field ${JSON.stringify(t.messages)}, a list of turns (${fieldsOf(record)})`)
  const messages = list.map((v, i) => turn(v, t, `turn ${i + 1}`))
  const system = t.system ? text(record, t.system, false) : undefined
  if (system && messages[0]?.role !== 'system') messages.unshift(msg('system', system))
  const tools = t.tools ? parseToolDefinitions(record[t.tools], `field ${JSON.stringify(t.tools)}`) : undefined
  if (t.chosen && t.rejected && record[t.chosen] !== undefined) {
    const side = (name: string, column: string): Message[] => (record[column] === undefined ? problem(`missing field ${JSON.stringify(column)}`, 'BadPreference') : [turn(record[column], t, name)])
    return preferenceOf(messages, side('chosen', t.chosen), side('rejected', t.rejected), tools)
  }
  if (t.ktoTag) return unpairedOf(messages.slice(0, -1), messages.slice(-1), record[t.ktoTag], t.ktoTag, tools)
  return conversation(messages, tools)
}

// ── openai ──────────────────────────────────────────────────────────────────────────────────
/**
 * A message's text. Content parts: `{ type: 'text', text }`, and `{ type: 'image_url', image_url: { url } }`
 * (a local file), which becomes an `<image>` placeholder at its place with its path pushed to `images`.
 */
const openaiContent = (content: unknown, where: string, images?: string[]): string => {
  if (typeof content === 'string') return content
  if (content === null) return ''
  if (Array.isArray(content)) {
    return content
      .map((p, j) => {
        const part = p as DataRecord
        if (part?.type === 'image_url' && images) {
          images.push(imageUrlPath(part, `${where} part ${j + 1}`))
          return imagePlaceholder
        }
        if (part?.type !== 'text' || typeof part.text !== 'string') problem(`${where} part ${j + 1} is not a text${images ? ' or image_url' : ''} part`)
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
const openaiMessage = (m: unknown, i: number, images?: string[]): Message => {
  const where = `message ${i + 1}`
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return problem(`${where} is ${describeValue(m)}, not an object`)
  const r = m as DataRecord
  const role = typeof r.role === 'string' ? normaliseRole(r.role) : undefined
  if (!role) problem(`${where} has unknown role ${JSON.stringify(r.role)}`)
  const calls = role === 'assistant' ? parseToolCalls(r.tool_calls, where) : undefined
  if (role === 'assistant' && !calls && typeof r.metadata === 'string' && r.metadata.trim() !== '')
    return { role: 'assistant', content: '', toolCalls: parseToolCalls([{ name: r.metadata.trim(), arguments: openaiContent(r.content, where) }], where)! }
  const out = msg(role!, calls && (r.content === null || r.content === undefined) ? '' : openaiContent(r.content, where, images))
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

/**
 * A side of a TRL record: text (one assistant turn), one message, or a list of messages. The
 * prompt as text is one user turn: tunekit renders every prompt with the recipe's chat template.
 */
const trlSide = (value: unknown, field: string, role: Role): Message[] => {
  if (typeof value === 'string') return [msg(role, value)]
  if (Array.isArray(value)) return openaiMessages(value, field)
  if (typeof value === 'object' && value !== null) return [openaiMessage(value, 0)]
  return problem(value === undefined ? `missing field ${JSON.stringify(field)}` : `field ${JSON.stringify(field)} is ${describeValue(value)}, not text or messages`, 'BadPreference')
}

/**
 * TRL's preference records: `{ prompt, chosen, rejected }` with the prompt as text or messages, or
 * without a prompt, chosen and rejected whole conversations split at their shared prefix
 * (splitSharedPrompt); and KTO's `{ prompt, completion, label }`.
 * @see https://huggingface.co/docs/trl/dataset_formats#preference
 */
function parseTrlPreference(record: DataRecord): Parsed {
  const tools = openaiTools(record)
  if (record.completion !== undefined)
    return unpairedOf(trlSide(record.prompt, 'prompt', 'user'), trlSide(record.completion, 'completion', 'assistant'), record.label, 'label', tools)
  const chosen = trlSide(record.chosen, 'chosen', 'assistant')
  const rejected = trlSide(record.rejected, 'rejected', 'assistant')
  if (record.prompt !== undefined) return preferenceOf(trlSide(record.prompt, 'prompt', 'user'), chosen, rejected, tools)
  if (typeof record.chosen === 'string' || typeof record.rejected === 'string') problem('chosen and rejected are text and the record has no "prompt"; give a prompt, or chosen and rejected as whole conversations', 'BadPreference')
  const split = splitSharedPrompt(chosen, rejected)
  return preferenceOf(split.prompt, split.chosen, split.rejected, tools)
}

/**
 * `messages: [{ role, content }]`; records with `chosen` / `rejected` (TRL's preference format) make
 * a preference pair, records with `completion` / `label` (TRL's unpaired format) a KTO example.
 */
export function parseOpenai(record: DataRecord): Parsed {
  // A conversation with `messages` keeps its other fields (a stray "label" column) as metadata;
  // without them, chosen / rejected / completion mark TRL's preference and unpaired records.
  const conversational = Array.isArray(record.messages)
  if ((record.chosen !== undefined && record.rejected !== undefined) || (!conversational && (record.chosen !== undefined || record.rejected !== undefined || record.completion !== undefined)))
    return parseTrlPreference(record)
  if (!Array.isArray(record.messages)) return problem(`missing field "messages", a list of { role, content } (${fieldsOf(record)})`)
  // image_url parts first, in message order, then LLaMA-Factory's `images` column (its mllm_demo)
  const images: string[] = []
  const messages = record.messages.map((m, i) => openaiMessage(m, i, images))
  const column = imageColumn(record.images, 'images')
  const declared = images.length > 0 || column !== undefined ? [...images, ...(column ?? [])] : undefined
  return withImages(conversation(messages, openaiTools(record)), declared)
}
