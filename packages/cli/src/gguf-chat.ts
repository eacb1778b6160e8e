// `tunekit chat --gguf`: generation by llama.cpp through node-llama-cpp (an optional peer
// dependency, loaded only here). The chat template, bos and eos come from the GGUF file itself
// (`tokenizer.chat_template`, `tokenizer.ggml.*`), so the file is all it needs.
import { fail } from '@tunekit/core'
import { open, stat } from 'node:fs/promises'

/** A loaded GGUF model, ready to answer rendered prompts. */
export interface GgufChat {
  /** Jinja chat template stored in the file. */
  jinja: string
  bos: string
  eos: string
  addBos: boolean
  /** Which llama.cpp build runs it, e.g. `llama.cpp (cpu)`. */
  runner: string
  generate(prompt: string, opts: { maxNewTokens: number; temperature: number }, onToken?: (piece: string) => void): Promise<string>
  dispose(): Promise<void>
}

/** Refuses a missing file or one that does not start with GGUF's magic, before llama.cpp sees it. */
async function checkGguf(file: string): Promise<void> {
  const size = await stat(file).then((s) => (s.isFile() ? s.size : -1), () => undefined)
  if (size === undefined) fail('NotAGgufFile', { path: '--gguf', value: file }, file, 'does not exist')
  if (size === -1) fail('NotAGgufFile', { path: '--gguf', value: file }, file, 'is a folder, not a file')
  const handle = await open(file, 'r')
  try {
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(4), 0, 4, 0)
    if (bytesRead < 4 || buffer.toString('latin1') !== 'GGUF') fail('NotAGgufFile', { path: '--gguf', value: file }, file, 'does not start with the GGUF magic bytes')
  } finally {
    await handle.close()
  }
}

/**
 * Opens a GGUF file in llama.cpp (GPU when node-llama-cpp finds one, else CPU). `threads`: CPU
 * threads of llama.cpp (default: node-llama-cpp's, every core); 1 is far faster on a machine whose
 * cores are busy, where ggml's threads wait on each other.
 */
export async function openGgufChat(file: string, opts: { threads?: number } = {}): Promise<GgufChat> {
  await checkGguf(file)
  const nlc = await import('node-llama-cpp').catch((e: unknown) => fail('LlamaCppUnavailable', { path: '--gguf', value: file }, (e as Error).message.split('\n')[0]!))
  // 'never': use the prebuilt binaries from npm; never start a source build from a chat command
  const llama = await nlc.getLlama({ build: 'never', logLevel: nlc.LlamaLogLevel.error, progressLogs: false })
  const model = await llama.loadModel({ modelPath: file })
  const metadata = model.fileInfo.metadata as { tokenizer?: { chat_template?: unknown; ggml?: { add_bos_token?: unknown } } }
  const jinja = metadata.tokenizer?.chat_template
  if (typeof jinja !== 'string') {
    await llama.dispose()
    return fail('NoChatTemplate', { path: '--gguf', value: file }, `${file} (no tokenizer.chat_template)`)
  }
  const context = await model.createContext({ contextSize: Math.min(model.trainContextSize, 4096), sequences: 1, ...(opts.threads !== undefined ? { threads: opts.threads } : {}) })
  return {
    jinja,
    bos: model.tokens.bosString ?? '<s>',
    eos: model.tokens.eosString ?? '</s>',
    addBos: model.tokens.shouldPrependBosToken,
    runner: `llama.cpp (${llama.gpu === false ? 'cpu' : llama.gpu})`,
    async generate(prompt, opts, onToken) {
      // the prompt already starts with the bos text when the model wants one (the caller adds it)
      const ids = model.tokenize(prompt, true)
      const sequence = context.getSequence()
      const out: Array<(typeof ids)[number]> = []
      let shown = ''
      try {
        // temperature 0: greedy
        for await (const id of sequence.evaluate(ids, { temperature: opts.temperature })) {
          if (model.isEogToken(id) || out.length >= opts.maxNewTokens) break
          out.push(id)
          if (!onToken) continue
          const text = model.detokenize(out)
          // a partial UTF-8 sequence detokenizes to U+FFFD: wait for the rest of the character
          if (text.endsWith('\uFFFD')) continue
          onToken(text.slice(shown.length))
          shown = text
        }
      } finally {
        sequence.dispose()
      }
      return model.detokenize(out)
    },
    async dispose() {
      await context.dispose()
      await model.dispose()
      await llama.dispose()
    },
  }
}
