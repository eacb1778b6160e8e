// `tunekit chat --gguf`: llama.cpp (node-llama-cpp) answers from a pipe, one line per question,
// as `tunekit chat` does over the model folder the file was exported from.
import { chat, runCli, type CliContext } from '@tunekit/cli'
import { exportGguf } from '@tunekit/hf'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { tinyQwen2Model, tmp } from '../model/gguf-fixture.ts'

async function cli(cwd: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await runCli(args, { cwd, out: (t) => void (out += t), err: (t) => void (err += t) })
  return { code, out, err }
}

const context = (): CliContext & { output: () => string } => {
  let out = ''
  return { out: (t) => void (out += t), err: () => undefined, cwd: process.cwd(), signal: new AbortController().signal, exitCode: 0, output: () => out }
}

describe('tunekit chat --gguf', () => {
  it('a missing file and a file that is not GGUF are user errors naming the file', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tunekit-chat-'))
    writeFileSync(join(cwd, 'model.gguf'), 'not a model')
    const missing = await cli(cwd, 'chat', '--gguf', 'nowhere.gguf')
    const wrong = await cli(cwd, 'chat', '--gguf', 'model.gguf')
    expect([missing.code, wrong.code]).toEqual([1, 1])
    expect((missing.err + wrong.err).replaceAll(cwd, '$CWD')).toMatchInlineSnapshot(`
      "Not a GGUF file
      ✖ TK625 "$CWD/nowhere.gguf" does not exist → at --gguf
        value: "$CWD/nowhere.gguf"
        fix: Pass a .gguf file written by exportGguf (@tunekit/hf) or by llama.cpp's convert_hf_to_gguf.py.
      Not a GGUF file
      ✖ TK625 "$CWD/model.gguf" does not start with the GGUF magic bytes → at --gguf
        value: "$CWD/model.gguf"
        fix: Pass a .gguf file written by exportGguf (@tunekit/hf) or by llama.cpp's convert_hf_to_gguf.py.
      "
    `)
  })

  it('answers from a pipe one line per question, as the folder it was exported from does', async () => {
    // the small-vocabulary Qwen2 fixture keeps this quick; gguf-export.test.ts covers Mistral's
    const { dir } = await tinyQwen2Model('What is the opposite of hot? Name the opposite of up. cold down')
    const file = join(await tmp(), 'tiny.gguf')
    await exportGguf(dir, file, { type: 'F32' })
    const lines = 'What is the opposite of hot?\n/reset\nName the opposite of up.\n'
    const fromGguf = context()
    // one thread: on shared, busy cores ggml's threads wait on each other for seconds a token
    await chat(fromGguf, undefined, { gguf: file, maxNewTokens: '6', threads: '1' }, Readable.from([lines]))
    const fromFolder = context()
    await chat(fromFolder, dir, { backend: 'tfjs', maxNewTokens: '6' }, Readable.from([lines]))
    const answers = fromGguf.output().split('\n')
    expect(answers).toHaveLength(3) // two answers and the final newline
    expect(answers[2]).toBe('')
    expect(answers[0]!.length).toBeGreaterThan(0)
    expect(fromGguf.output()).toBe(fromFolder.output())
  }, 120_000)
})
