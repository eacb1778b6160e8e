// The dashboard's chat with a run's merged model, as `tunekit chat runs/<name>/merged` talks:
// the training template, greedy decoding, 128 new tokens at most. The answer streams as
// server-sent events on the POST's response: the rendered prompt first (the template shown),
// then each piece as it is decoded, then the whole answer.
import { existsSync, realpathSync } from 'node:fs'
import type { ServerResponse } from 'node:http'
import { join } from 'node:path'
import { fail, isTunekitError } from '@tunekit/core'
import { chatPrompt, folderEngine, type ChatEngine, type Message } from '../commands/chat.ts'
import { requestContext } from './recipe-form.ts'

/** One turn the page sends. */
export type ChatTurn = Message

/** `tunekit chat`'s defaults: the longest answer in tokens, greedy. */
const GENERATION = { maxNewTokens: 128, temperature: 0 }

/** A server's loaded models, by merged folder (its real path: a rerun relinks `merged` to a new cache entry). */
export type ChatEngines = Map<string, Promise<ChatEngine>>

const send = (res: ServerResponse, value: unknown): boolean => res.write(`data: ${JSON.stringify(value)}\n\n`)

/** Answers the last user turn of `turns` with the merged model of the run in `runDir`. */
export async function chatReply(engines: ChatEngines, root: string, runDir: string, turns: readonly ChatTurn[], res: ServerResponse): Promise<void> {
  const merged = join(runDir, 'merged')
  if (!existsSync(join(merged, 'config.json'))) fail('NotMergedYet', { path: 'output.merge', value: runDir, hintArgs: [runDir] }, runDir, merged)
  const real = realpathSync(merged)
  if (!engines.has(real)) engines.set(real, folderEngine(requestContext(root), real, {}))
  const engine = await engines.get(real)!.catch((e: unknown) => {
    engines.delete(real)
    throw e
  })
  const prompt = await chatPrompt(engine, turns)
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' })
  send(res, { prompt, runner: engine.runner })
  try {
    const answer = await engine.generate(prompt, GENERATION, (piece) => void send(res, { piece }))
    send(res, { answer: answer.trim() })
  } catch (e) {
    // The headers are gone: the error travels as the stream's last message.
    send(res, isTunekitError(e) ? { error: e.message } : { error: `generation crashed (a bug in tunekit): ${e instanceof Error ? e.message : String(e)}` })
    if (!isTunekitError(e)) process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
  }
  res.end()
}

/** Frees every loaded model (the server is closing). */
export async function closeChats(engines: ChatEngines): Promise<void> {
  const loaded = [...engines.values()]
  engines.clear()
  await Promise.all(loaded.map(async (p) => (await p.catch(() => undefined))?.dispose()))
}
