/**
 * Preference records in the one model every format maps to (conversation.ts `Preference`,
 * `Unpaired`): a prompt conversation, then the chosen and rejected turns, or KTO's one completion
 * and its label. Every problem names the record's side and becomes a catalog error (BadPreference,
 * PreferencePromptsDiffer; turn order and tool use as for conversations).
 */
import { describeValue } from '../util/describe.ts'
import { checkTurns, problem, type Message, type ToolDefinition } from './conversation.ts'
import { checkToolUse } from './tools.ts'

/** A preference pair or an unpaired example, as a parser returns it (parsers.ts `Parsed`). */
export type ParsedPreference =
  | { kind: 'preference'; prompt: Message[]; chosen: Message[]; rejected: Message[]; tools?: ToolDefinition[] }
  | { kind: 'unpaired'; prompt: Message[]; completion: Message[]; desirable: boolean; tools?: ToolDefinition[] }

const bad = (reason: string): never => problem(reason, 'BadPreference')

/** One answer side: non-empty, starting and ending with an assistant turn whose final answer says something. */
function checkSide(side: readonly Message[], name: string): void {
  if (side.length === 0) bad(`${name} is empty`)
  const last = side.at(-1)!
  if (last.role !== 'assistant') bad(`${name} ends with a ${last.role} message, not an assistant answer`)
  if (last.content.trim() === '' && !last.toolCalls) bad(`${name}'s answer is empty`)
}

/** The prompt, then a side: the same turn order and tool checks a conversation gets. */
function checkConversation(prompt: readonly Message[], side: readonly Message[], tools: readonly ToolDefinition[] | undefined): void {
  if (!prompt.some((m) => m.role === 'user')) bad('the prompt has no user message')
  checkTurns([...prompt, ...side])
  checkToolUse([...prompt, ...side], tools)
}

/** A checked preference pair. */
export function preferenceOf(prompt: Message[], chosen: Message[], rejected: Message[], tools?: ToolDefinition[]): ParsedPreference {
  checkSide(chosen, 'chosen')
  checkSide(rejected, 'rejected')
  checkConversation(prompt, chosen, tools)
  checkConversation(prompt, rejected, tools)
  return tools ? { kind: 'preference', prompt, chosen, rejected, tools } : { kind: 'preference', prompt, chosen, rejected }
}

/** A checked unpaired (KTO) example; `label` must be a boolean (a string "true" is not guessed). */
export function unpairedOf(prompt: Message[], completion: Message[], label: unknown, field: string, tools?: ToolDefinition[]): ParsedPreference {
  if (typeof label !== 'boolean') bad(label === undefined ? `missing field ${JSON.stringify(field)} (true: desirable, false: undesirable)` : `field ${JSON.stringify(field)} is ${describeValue(label)}, not true or false`)
  checkSide(completion, 'completion')
  checkConversation(prompt, completion, tools)
  const out: ParsedPreference = { kind: 'unpaired', prompt, completion, desirable: label as boolean }
  if (tools) out.tools = tools
  return out
}

const sameMessage = (a: Message, b: Message): boolean => JSON.stringify(a) === JSON.stringify(b)

const shortText = (m: Message): string => `${m.role} ${JSON.stringify(m.content.length > 30 ? `${m.content.slice(0, 27)}...` : m.content)}`

/**
 * TRL's implicit prompt (`extract_prompt`): chosen and rejected are whole conversations, and the
 * prompt is the longest run of messages they share from the start. Both sides must then start
 * with an assistant turn: a pair whose conversations part before that (or never meet) has no
 * common prompt, a PreferencePromptsDiffer error.
 * @see https://github.com/huggingface/trl/blob/main/trl/data_utils.py (extract_prompt)
 */
export function splitSharedPrompt(chosen: Message[], rejected: Message[]): { prompt: Message[]; chosen: Message[]; rejected: Message[] } {
  let n = 0
  while (n < chosen.length && n < rejected.length && sameMessage(chosen[n]!, rejected[n]!)) n++
  // the same conversation twice: its last turn is both answers, for the identical-pair check to name
  if (n === chosen.length && n === rejected.length && n > 0) n--
  const c = chosen.slice(n)
  const r = rejected.slice(n)
  if (n === 0 && c.length > 0 && r.length > 0) problem(`chosen and rejected differ from their first message (chosen: ${shortText(c[0]!)}, rejected: ${shortText(r[0]!)})`, 'PreferencePromptsDiffer')
  if (c.length > 0 && r.length > 0 && (c[0]!.role !== 'assistant' || r[0]!.role !== 'assistant'))
    problem(`chosen and rejected share ${n} message(s), then differ at message ${n + 1} before the answer (chosen: ${shortText(c[0]!)}, rejected: ${shortText(r[0]!)})`, 'PreferencePromptsDiffer')
  return { prompt: chosen.slice(0, n), chosen: c, rejected: r }
}
