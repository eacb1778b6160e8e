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
    expect(r.err.replaceAll(cwd, '$CWD')).toMatchInlineSnapshot(`
      "Not a model folder
      ✖ TK415 "$CWD/nowhere" holds no config.json, so it is not a Hugging Face model folder → at model
        value: "nowhere"
        fix: Pass the merged model a run wrote (\`tunekit chat runs/<name>/merged\`), or a base model folder with \`--adapter runs/<name>/adapter\`.
      "
    `)
  })

  it("a recipe that has not run yet says where its merged model would be", async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tunekit-chat-'))
    const r = await cli(cwd, 'chat', '--recipe', join(root, 'recipes/tiny-chat.ts'))
    expect(r.code).toBe(1)
    expect(r.err.replaceAll(cwd, '$CWD').replaceAll(root, '$ROOT/')).toMatchInlineSnapshot(`
      "No merged model yet
      ✖ TK416 "tiny-chat" has no merged model yet (looked in $CWD/runs/tiny-chat/merged) → at output.merge
        value: "tiny-chat"
        fix: Run the recipe first (\`tunekit run $ROOT/recipes/tiny-chat.ts\`, or \`tunekit merge $ROOT/recipes/tiny-chat.ts\` after a run that stopped at train), or pass a model folder.
      "
    `)
  })

  it('a model folder without any chat template is NoChatTemplate', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tunekit-chat-'))
    expect(() => trainingTemplate([dir])).toThrow(/TK417 .*: no chat_template.jinja and no chat_template in tokenizer_config.json/)
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
