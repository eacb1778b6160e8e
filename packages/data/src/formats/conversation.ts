/** The roles every format is normalised to. */
export type Role = 'system' | 'user' | 'assistant' | 'tool'

/** A JSON value, as tool arguments and JSON Schema hold them. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }
export type JsonObject = { [key: string]: JsonValue }

/**
 * One function the assistant may call: the OpenAI / Hugging Face `function` object. `parameters` is
 * a JSON Schema (usually `{ type: 'object', properties, required }`), kept as the data gave it.
 */
export interface ToolDefinition {
  name: string
  description?: string
  parameters?: JsonObject
}

/** One call an assistant turn makes: the function's name and its arguments as a JSON object. */
export interface ToolCall {
  name: string
  arguments: JsonObject
  /** The call's id when the data gives one (openai `tool_calls[].id`); tool results may point at it. */
  id?: string
}

export interface Message {
  role: Role
  /** The text; '' for an assistant turn that only calls tools. */
  content: string
  /** Assistant turns: the tools it calls, in order (after `content` when both are present). */
  toolCalls?: ToolCall[]
  /** Tool turns: the id of the call this result answers (openai `tool_call_id`), when given. */
  toolCallId?: string
}

/** One line of `conversations.jsonl`. */
export interface Conversation {
  id: string
  messages: Message[]
  /** The functions the assistant may call, when the record declares them. */
  tools?: ToolDefinition[]
  /**
   * Absolute paths of the record's images, in the order of the `<image>` placeholders in its
   * messages (the format step resolved and checked them).
   */
  images?: string[]
}

/** One line of `documents.jsonl` (data.format 'text', the pretrain stage): one raw document. */
export interface Document {
  id: string
  text: string
}

/**
 * One line of `tokens.jsonl` (data.format 'tokens'): pre-tokenized ids and their loss mask
 * (`mask[t] = 1`: token t is a label, predicted from t − 1), with the record's place for errors.
 */
export interface TokenRecord {
  id: string
  where: string
  ids: number[]
  mask: number[]
}

/**
 * One line of `preferences.jsonl`: a preference pair (DPO, ORPO, SimPO, reward models). The prompt
 * is the conversation up to the answers; chosen and rejected are the turns that follow it (one
 * assistant turn, or several with tool calls and results between them, ending with an assistant turn).
 */
export interface Preference {
  id: string
  prompt: Message[]
  chosen: Message[]
  rejected: Message[]
  /** The functions the assistant may call, when the record declares them. */
  tools?: ToolDefinition[]
}

/**
 * One line of `unpaired.jsonl`: KTO's unpaired example, a prompt and one completion labelled
 * desirable (`true`) or undesirable (`false`), as TRL's `{ prompt, completion, label }` and
 * LLaMA-Factory's `kto_tag`.
 */
export interface Unpaired {
  id: string
  prompt: Message[]
  completion: Message[]
  desirable: boolean
  tools?: ToolDefinition[]
}

const roleNames: Record<string, Role> = {
  system: 'system',
  developer: 'system',
  user: 'user',
  human: 'user',
  prompter: 'user',
  assistant: 'assistant',
  gpt: 'assistant',
  bot: 'assistant',
  model: 'assistant',
  chatgpt: 'assistant',
  function_call: 'assistant',
  tool: 'tool',
  function: 'tool',
  observation: 'tool',
  ipython: 'tool',
}

/** Maps a role name from any supported format to `system | user | assistant | tool`, or undefined. */
export const normaliseRole = (name: string): Role | undefined => roleNames[name.trim().toLowerCase()]

/** Catalog entries a record problem can be reported as; each takes `(where, reason)`. */
export type RecordErrorName = 'BadRecord' | 'BadPreference' | 'PreferencePromptsDiffer' | 'BadToolDefinitions' | 'BadToolCall' | 'ToolResultWithoutCall' | 'UnknownTool' | 'TokenLabelsLength' | 'TokenRecordUnlabelled' | 'ImageCountMismatch' | 'ImageMissing' | 'ImageUrlNotLocal'

/**
 * A record that cannot be used; the format step turns it into its catalog error (BadRecord unless
 * a more precise one applies), or a skip with `onError: 'skip'`.
 */
export class RecordProblem extends Error {
  constructor(
    reason: string,
    readonly error: RecordErrorName = 'BadRecord',
  ) {
    super(reason)
  }
}

export const problem = (reason: string, error?: RecordErrorName): never => {
  throw new RecordProblem(reason, error)
}

/**
 * Checks the order of roles: an optional system message first, then user and assistant turns that
 * alternate, tool results only after an assistant turn (a call), and at least one assistant turn.
 */
export function checkTurns(messages: readonly Message[]): void {
  if (messages.length === 0) problem('no messages')
  let prev: Role | 'start' = 'start'
  for (const [i, m] of messages.entries()) {
    const ok =
      m.role === 'system' ? i === 0
      : m.role === 'user' ? prev === 'start' || prev === 'system' || prev === 'assistant'
      : m.role === 'assistant' ? prev === 'user' || prev === 'tool'
      : prev === 'assistant' || prev === 'tool'
    if (!ok) problem(`roles do not alternate: message ${i + 1} is ${m.role} after ${prev === 'start' ? 'the start' : prev}`)
    if (typeof m.content !== 'string') problem(`message ${i + 1} has no text content`)
    prev = m.role
  }
  if (!messages.some((m) => m.role === 'assistant')) problem('no assistant message to learn from')
}
