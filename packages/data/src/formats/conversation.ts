/** The roles every format is normalised to. */
export type Role = 'system' | 'user' | 'assistant' | 'tool'

export interface Message {
  role: Role
  content: string
}

/** One line of `conversations.jsonl`. */
export interface Conversation {
  id: string
  messages: Message[]
  /** Tool definitions (JSON text) when the record declares them (sharegpt `tools`). */
  tools?: string
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

/** A preference pair (DPO-style data): a shared prompt, a chosen and a rejected answer. */
export interface Preference {
  id: string
  prompt: Message[]
  chosen: Message
  rejected: Message
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

/**
 * A record that cannot be used; the format step turns it into BadRecord, or into the catalog
 * error `catalog` names (same message arguments: where, then `args`), or a skip with `onError: 'skip'`.
 */
export class RecordProblem extends Error {
  constructor(reason: string, readonly catalog?: { name: 'TokenLabelsLength' | 'TokenRecordUnlabelled'; args: readonly (string | number)[] }) {
    super(reason)
  }
}

export const problem = (reason: string): never => {
  throw new RecordProblem(reason)
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
