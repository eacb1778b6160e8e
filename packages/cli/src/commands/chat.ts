import { existsSync, readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { Command, Option } from 'commander'
import { fail, TunekitError, type Backend } from '@tunekit/core'
import { checkModelFolder, inspectAdapter } from '@tunekit/hf'
import type { CliCommand, CliContext } from '../context.ts'
import { recipeFor } from '../load-recipe.ts'
import { chatImage } from './chat-image.ts'
import { loadBackend } from '../wire.ts'

export interface ChatOptions {
  /** A GGUF file to chat with through llama.cpp (node-llama-cpp) instead of a model folder. */
  gguf?: string
  /** CPU threads llama.cpp uses with `gguf` (default: every core). */
  threads?: string
  /** Adapter folder (PEFT layout) on top of `model`, instead of a merged model. */
  adapter?: string
  /** A recipe whose run folder holds the merged model (`runs/<name>/merged`). */
  recipe?: string
  backend?: 'tfjs' | 'torch'
  maxNewTokens?: string
  temperature?: string
  system?: string
  /** A PNG the conversation is about (a vision-language model on the torch backend): its `<image>` leads the first user message. */
  image?: string
}

/** One turn of a chat. */
export interface Message {
  role: 'system' | 'user' | 'assistant'
  content: string
}

type TokenText = string | { content?: string } | null | undefined
const tokenText = (t: TokenText): string | undefined => (typeof t === 'string' ? t : (t?.content ?? undefined))

/**
 * The chat template a model was trained with and the bos / eos texts: `chat_template.jinja` next to
 * the weights (tunekit writes it with every merged model and adapter), else tokenizer_config.json's
 * `chat_template`.
 */
export function trainingTemplate(folders: readonly string[]): { jinja: string; bos: string; eos: string; addBos: boolean } {
  let jinja: string | undefined
  let config: Record<string, unknown> = {}
  for (const dir of folders) {
    for (const tokDir of [dir, join(dir, 'tokenizer')]) {
      const file = join(tokDir, 'tokenizer_config.json')
      if (Object.keys(config).length === 0 && existsSync(file)) config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
    }
    const file = join(dir, 'chat_template.jinja')
    if (jinja === undefined && existsSync(file)) jinja = readFileSync(file, 'utf8')
  }
  jinja ??= typeof config.chat_template === 'string' ? config.chat_template : undefined
  if (jinja === undefined) {
    return fail('NoChatTemplate', { path: 'model', value: folders.join(', ') }, folders.join(', '))
  }
  return {
    jinja,
    bos: tokenText(config.bos_token as TokenText) ?? '<s>',
    eos: tokenText(config.eos_token as TokenText) ?? '</s>',
    addBos: config.add_bos_token !== false,
  }
}

/** The model folder to chat with: the argument, or the merged model in a recipe's run folder. */
async function modelFolder(ctx: CliContext, modelArg: string | undefined, opts: ChatOptions): Promise<string> {
  if (modelArg !== undefined) {
    const dir = resolve(ctx.cwd, modelArg)
    if (!existsSync(join(dir, 'config.json'))) fail('NotAModelFolder', { path: 'model', value: modelArg }, dir)
    return dir
  }
  const { recipe, file } = await recipeFor(ctx, opts.recipe, 'chat')
  const merged = resolve(ctx.cwd, recipe.output.dir ?? `runs/${recipe.name}`, 'merged')
  if (!existsSync(join(merged, 'config.json'))) {
    const rel = relative(ctx.cwd, file)
    const shown = rel && !rel.startsWith('..') ? rel : file
    return fail('NotMergedYet', { path: 'output.merge', value: recipe.name, hintArgs: [shown] }, recipe.name, merged)
  }
  return merged
}

/**
 * `tunekit chat`: a conversation with a merged model (or a base model plus an adapter, or a GGUF
 * file through llama.cpp), rendered with the chat template used in training. On a terminal it prompts and streams tokens; from a
 * pipe each input line is one user turn and each answer is printed on one line. `/reset` starts
 * over, `/exit` (or end of input) quits.
 */
export async function chat(ctx: CliContext, modelArg: string | undefined, opts: ChatOptions, input: Readable = process.stdin): Promise<void> {
  const engine = opts.gguf !== undefined ? await ggufEngine(ctx, opts.gguf, opts.threads) : await folderEngine(ctx, modelArg, opts)
  const interactive = (input as { isTTY?: boolean }).isTTY === true
  const history: Message[] = opts.system ? [{ role: 'system', content: opts.system }] : []
  const maxNewTokens = opts.maxNewTokens !== undefined ? Number(opts.maxNewTokens) : 128
  const temperature = opts.temperature !== undefined ? Number(opts.temperature) : 0

  if (interactive) ctx.err(`chatting with ${engine.what} on ${engine.runner}; /reset to start over, /exit to quit\n`)
  const lines = createInterface({ input, terminal: false })
  try {
    if (interactive) ctx.out('you › ')
    for await (const raw of lines) {
      if (ctx.signal.aborted) break
      const line = raw.trim()
      if (line === '/exit') break
      if (line === '/reset') {
        history.splice(opts.system ? 1 : 0)
        if (interactive) ctx.out('(new conversation)\nyou › ')
        continue
      }
      if (line === '') {
        if (interactive) ctx.out('you › ')
        continue
      }
      // the image belongs to the conversation's first user message (again after /reset)
      const first = opts.image !== undefined && !history.some((m) => m.role === 'user')
      history.push({ role: 'user', content: first && !line.includes('<image>') ? `<image>${line}` : line })
      const prompt = await chatPrompt(engine, history)
      if (interactive) ctx.out('model › ')
      const answer = await engine.generate(prompt, { maxNewTokens, temperature }, interactive ? (piece) => ctx.out(piece) : undefined)
      const text = answer.trim()
      history.push({ role: 'assistant', content: text })
      ctx.out(interactive ? '\nyou › ' : `${text}\n`)
    }
  } finally {
    lines.close()
    await engine.dispose()
  }
}

/**
 * The prompt of a conversation so far, rendered with the engine's training template and the
 * generation prompt (the dashboard's chat renders the same way).
 */
export async function chatPrompt(engine: Pick<ChatEngine, 'jinja' | 'bos' | 'eos' | 'addBos'>, history: readonly Message[]): Promise<string> {
  const { chatTemplate, renderChat } = await import('@tunekit/data')
  const template = chatTemplate({ jinja: engine.jinja }, { bosToken: engine.bos, eosToken: engine.eos })
  const rendered = renderChat(template, [...history], true)
  // Training prepended bos to every sample (tokens.addBos); a prompt must start the same way.
  return engine.addBos && !rendered.startsWith(engine.bos) ? `${engine.bos}${rendered}` : rendered
}

/** What generates the answers: a backend over a model folder, or llama.cpp over a GGUF file. */
export interface ChatEngine {
  what: string
  runner: string
  jinja: string
  bos: string
  eos: string
  addBos: boolean
  generate(prompt: string, opts: { maxNewTokens: number; temperature: number }, onToken?: (piece: string) => void): Promise<string>
  dispose(): Promise<void>
}

/** A backend (tfjs by default) over a model folder, or a base model plus `opts.adapter`, checked from their headers first. */
export async function folderEngine(ctx: CliContext, modelArg: string | undefined, opts: ChatOptions): Promise<ChatEngine> {
  const model = await modelFolder(ctx, modelArg, opts)
  const adapter = opts.adapter !== undefined ? resolve(ctx.cwd, opts.adapter) : undefined
  // The model folder and the adapter are checked from their headers before a backend loads them:
  // an adapter for another model would otherwise answer garbage without a word.
  const { folder } = checkModelFolder(model)
  if (adapter) {
    const errors = inspectAdapter(adapter, folder).filter((i) => i.severity === 'error')
    if (errors.length > 0) throw new TunekitError(errors, `The adapter cannot be applied to ${model}`)
  }
  const { jinja, bos, eos, addBos } = trainingTemplate(adapter ? [adapter, model] : [model])
  const image = opts.image === undefined ? undefined : await chatImage(resolve(ctx.cwd, opts.image), model, adapter ? join(adapter, 'tokenizer') : model)
  const backend: Backend = await loadBackend(opts.backend ?? 'tfjs')
  return {
    what: `${model}${adapter ? ` + ${adapter}` : ''}`, runner: backend.name, jinja, bos, eos, addBos,
    generate: (prompt, g, onToken) => backend.generate({ model, ...(adapter ? { adapter } : {}), ...(image ? { prompt: image.expand(prompt), images: [image.image] } : { prompt }), ...g }, onToken),
    dispose: async () => backend.dispose?.(),
  }
}

async function ggufEngine(ctx: CliContext, file: string, threads: string | undefined): Promise<ChatEngine> {
  const { openGgufChat } = await import('../gguf-chat.ts')
  const path = resolve(ctx.cwd, file)
  const g = await openGgufChat(path, threads !== undefined ? { threads: Number(threads) } : {})
  return { what: path, ...g }
}

export const chatCommand: CliCommand = (ctx) =>
  new Command('chat')
    .description('Chat with a merged model (or a base model + --adapter) using the chat template it was trained with.')
    .argument('[model]', "model folder; default: the recipe's merged model (runs/<name>/merged)")
    .option('--gguf <file>', 'chat with a GGUF file through llama.cpp (node-llama-cpp) instead of a model folder')
    .option('--threads <n>', 'CPU threads llama.cpp uses with --gguf (default: every core)')
    .option('--adapter <folder>', 'LoRA adapter (PEFT layout) to apply to the model')
    .option('--recipe <file>', 'take the merged model of this recipe')
    .addOption(new Option('--backend <name>', 'backend that generates').choices(['tfjs', 'torch']).default('tfjs'))
    .option('--max-new-tokens <n>', 'longest answer in tokens', '128')
    .option('--temperature <t>', '0 for greedy decoding', '0')
    .option('--system <text>', 'a system message to start the conversation with')
    .option('--image <file>', 'a PNG the conversation is about (llava / qwen2_vl on --backend torch), preprocessed as the model\'s image processor does')
    .action(async (modelArg: string | undefined, opts: ChatOptions) => {
      await chat(ctx, modelArg, opts)
    })
