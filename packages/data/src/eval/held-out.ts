import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fail, inputOfKind, type NodeContext } from '@tunekit/core'
import type { Conversation, JsonObject, Message } from '../formats/conversation.ts'
import { chatTemplate, renderChat } from '../templates/render.ts'
import { encodePrompt } from '../tokenize/encode-prompt.ts'
import { loadTokenizer, type LoadedTokenizer } from '../tokenizer/load.ts'
import { readJsonLines } from '../util/lines.ts'

/** One held-out conversation as the score node uses it: the prompt up to its last assistant turn, and that turn. */
export interface HeldOutExample {
  /** The conversation's id (conversations.jsonl). */
  id: string
  /** The messages before the last assistant turn. */
  prompt: Message[]
  /** The last assistant turn: the reference answer (text, or a tool call). */
  reference: Message
  /** The prompt rendered with the chat template and a generation prompt, as training rendered it. */
  text: string
  /** `text` encoded as tokenize encodes (bos included when the tokenizer adds one). */
  ids: number[]
}

interface IndexStats {
  stats: { sourceIndices?: number[]; conversationIndices?: number[] }
}

const readIndex = async (dir: string): Promise<IndexStats> => JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as IndexStats

/**
 * The conversation lines of the held-out set, in its order, each once: split's eval samples
 * (`stats.sourceIndices`, samples of the tokenize artifact) traced back through tokenize's
 * `stats.conversationIndices`. Pieces of a conversation that `truncation: 'split'` cut share it.
 */
export async function heldOutLines(splitDir: string, tokenizeDir: string): Promise<number[]> {
  const samples = (await readIndex(join(splitDir, 'eval'))).stats.sourceIndices ?? []
  const lines = (await readIndex(tokenizeDir)).stats.conversationIndices
  if (!lines) return fail('HeldOutUnmapped', { path: 'data', value: tokenizeDir }, tokenizeDir)
  return [...new Set(samples.map((s) => lines[s]!))]
}

/** The conversation up to its last assistant turn, and that turn; undefined when it has none after a prompt. */
function splitAtLastAnswer(conversation: Conversation): { prompt: Message[]; reference: Message } | undefined {
  const last = conversation.messages.findLastIndex((m) => m.role === 'assistant')
  if (last < 1) return undefined
  return { prompt: conversation.messages.slice(0, last), reference: conversation.messages[last]! }
}

/**
 * A reference turn as the metrics take it: the assistant's tool calls (`{ calls }`, name and
 * arguments) when it makes any, else its text (`{ text }`).
 */
export function referenceTurn(message: Message): { text: string } | { calls: { name: string; arguments: JsonObject }[] } {
  const calls = message.toolCalls ?? []
  return calls.length > 0 ? { calls: calls.map((c) => ({ name: c.name, arguments: c.arguments })) } : { text: message.content }
}

/**
 * The score node's prompts: the first `limit` held-out conversations (all with `'all'`), each cut
 * before its last assistant turn and rendered with the chat template the model was trained with
 * (`chat_template.jinja` of the tokenize artifact, with the conversation's tools, as tokenize renders), with
 * the generation prompt. Reads the node's split, tokenize and format inputs; also returns the
 * trained tokenizer (with its added tokens), which decodes the answers.
 */
export async function heldOutExamples(ctx: Pick<NodeContext, 'node' | 'graph' | 'input'>, limit: number | 'all'): Promise<{ examples: HeldOutExample[]; tokenizer: LoadedTokenizer; heldOut: number }> {
  const tokenizeDir = inputOfKind(ctx, 'tokenize')
  const lines = await heldOutLines(inputOfKind(ctx, 'split'), tokenizeDir)
  const tokenizer = await loadTokenizer(join(tokenizeDir, 'tokenizer'))
  const jinja = await readFile(join(tokenizeDir, 'chat_template.jinja'), 'utf8')
  const template = chatTemplate({ jinja }, { bosToken: tokenizer.bos?.token ?? '', eosToken: tokenizer.eos.token })
  const wanted = new Set(lines)
  const byLine = new Map<number, Conversation>()
  let line = 0
  for await (const conversation of readJsonLines<Conversation>(join(inputOfKind(ctx, 'format'), 'conversations.jsonl'))) {
    if (wanted.has(line)) byLine.set(line, conversation)
    line++
  }
  const examples: HeldOutExample[] = []
  for (const l of lines) {
    if (limit !== 'all' && examples.length >= limit) break
    const conversation = byLine.get(l)!
    // generation with images (the score node) is not wired yet: a prompt without its pixels would be scored as text
    if (conversation.images?.length) fail('BadRecord', { path: 'eval', value: `conversation ${conversation.id}` }, `conversation ${conversation.id}`, `it has ${conversation.images.length} image(s), and the score node does not generate from images yet; evaluate with loss (the eval node) instead`)
    const cut = splitAtLastAnswer(conversation)
    if (!cut) continue
    const text = renderChat(template, cut.prompt, true, conversation.tools)
    examples.push({ id: conversation.id, ...cut, text, ids: encodePrompt(tokenizer, text) })
  }
  if (examples.length === 0) fail('NoHeldOutAnswer', { path: 'data.split.eval', value: lines.length }, lines.length)
  return { examples, tokenizer, heldOut: lines.length }
}
