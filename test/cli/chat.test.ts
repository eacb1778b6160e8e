import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { runCli, trainingTemplate } from '@tunekit/cli'

const root = fileURLToPath(new URL('../../', import.meta.url))

async function cli(cwd: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await runCli(args, { cwd, out: (t) => void (out += t), err: (t) => void (err += t) })
  return { code, out, err }
}

describe('tunekit chat', () => {
  it('a folder that holds no model is a user error naming the folder', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tunekit-chat-'))
    const r = await cli(cwd, 'chat', 'nowhere')
    expect(r.code).toBe(1)
    expect(r.err).toContain(`✖ TK301 the weights of "nowhere" are not on this machine (looked in ${join(cwd, 'nowhere')})`)
  })

  it("a recipe that has not run yet says where its merged model would be", async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tunekit-chat-'))
    const r = await cli(cwd, 'chat', '--recipe', join(root, 'recipes/tiny-chat.ts'))
    expect(r.code).toBe(1)
    expect(r.err).toContain(`the weights of "tiny-chat (merged)" are not on this machine (looked in ${join(cwd, 'runs/tiny-chat/merged')})`)
  })

  it('takes the training template from chat_template.jinja, before tokenizer_config.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tunekit-chat-'))
    mkdirSync(join(dir, 'tokenizer'))
    writeFileSync(join(dir, 'tokenizer', 'tokenizer_config.json'), JSON.stringify({ bos_token: '<s>', eos_token: { content: '<|im_end|>' }, chat_template: 'from config' }))
    expect(trainingTemplate([dir])).toEqual({ jinja: 'from config', bos: '<s>', eos: '<|im_end|>', addBos: true })
    writeFileSync(join(dir, 'chat_template.jinja'), 'from file')
    expect(trainingTemplate([dir]).jinja).toBe('from file')
  })
})
