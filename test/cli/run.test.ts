import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { runCli } from '@tunekit/cli'

const root = fileURLToPath(new URL('../../', import.meta.url))
const exec = promisify(execFile)
// No weights and no datasets on this machine: an empty Hub cache.
const hfHome = mkdtempSync(join(tmpdir(), 'tunekit-hf-'))
process.env.HF_HOME = hfHome
delete process.env.HF_HUB_CACHE
delete process.env.TUNEKIT_MODEL_PATH

async function cli(cwd: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await runCli(args, { cwd, out: (t) => void (out += t), err: (t) => void (err += t) })
  return { code, out, err }
}

async function spawn(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), ...args], { cwd: root, env: { ...process.env, NO_COLOR: '1' } })
    return { code: 0, stdout, stderr }
  } catch (e) {
    const { code, stdout, stderr } = e as { code: number; stdout: string; stderr: string }
    return { code, stdout, stderr }
  }
}

describe('a 7B recipe on a machine without its weights or data', () => {
  it('run stops before any compute, naming what is missing and every way to provide it', async () => {
    const r = await cli(mkdtempSync(join(tmpdir(), 'tunekit-cwd-')), 'run', join(root, 'recipes/mistral-oasst.ts'))
    expect(r.code).toBe(1)
    expect(r.out).toContain('✔ mistral-oasst: recipe checked\nplan: mistral-oasst')
    expect(r.err.replaceAll(hfHome, '$HF_HOME')).toMatchInlineSnapshot(`
      "Cannot run mistral-oasst: 2 inputs are not on this machine
      ✖ TK301 the weights of "mistralai/Mistral-7B-v0.1" are not on this machine (looked in $HF_HOME/hub/models--mistralai--Mistral-7B-v0.1/snapshots/main) → at model.id
        value: "mistralai/Mistral-7B-v0.1"
        fix: Download them once (huggingface-cli download mistralai/Mistral-7B-v0.1) into the Hub cache (HF_HOME), pass a local folder with --model-path or TUNEKIT_MODEL_PATH, or allow downloads by unsetting HF_HUB_OFFLINE.
      ✖ TK302 the dataset "OpenAssistant/oasst_top1_2023-08-25" is not on this machine (looked in $HF_HOME/hub/datasets--OpenAssistant--oasst_top1_2023-08-25/snapshots/main) → at data.source
        value: "OpenAssistant/oasst_top1_2023-08-25"
        fix: Download it once (huggingface-cli download --repo-type dataset OpenAssistant/oasst_top1_2023-08-25) into the Hub cache (HF_HOME), or point data.source at local files with file('…') or --data-path.
      "
    `)
  })

  it('--model-path is where it looks first', async () => {
    const r = await cli(root, 'run', 'recipes/llama2-oasst.ts', '--model-path', '/nowhere/llama')
    expect(r.code).toBe(1)
    expect(r.err).toContain('(looked in /nowhere/llama, ')
  })

  it('the recipe files themselves behave the same under tsx, without a stack trace', async () => {
    const [run, plan] = await Promise.all([spawn(['recipes/mistral-oasst.ts']), spawn(['recipes/llama2-oasst.ts', 'plan'])])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('✖ TK301')
    expect(run.stderr).toContain('✖ TK302')
    expect(run.stderr).not.toMatch(/\n\s+at /)
    expect(plan.code).toBe(0)
    expect(plan.stdout).toContain('plan: llama2-oasst')
  })
})

describe('run on the data nodes of tiny-chat', () => {
  it('runs them without loading a backend, then finds them all cached', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tunekit-cwd-'))
    const first = await cli(cwd, 'run', join(root, 'recipes/tiny-chat.ts'), '--until', 'collate')
    expect(first.err).toBe('')
    expect(first.code).toBe(0)
    expect(first.out).toContain('run tiny-chat: model → source → format → tokenize → split → collate')
    expect(first.out).toContain('✔ eos supervised          <|im_end|> (32001) ends 288 assistant turns')
    // The resolved-backend line (`backend: tfjs (tfjs-wasm on wasm) — …`) only appears once a backend loads.
    expect(first.out).not.toMatch(/^backend: \w+ \([\w-]+ on \w+\)/m)
    const second = await cli(cwd, 'run', join(root, 'recipes/tiny-chat.ts'), '--until', 'collate', '--json')
    const events = second.out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; node?: string })
    expect(events.filter((e) => e.type === 'node-cached').map((e) => e.node)).toEqual(['model', 'source', 'format', 'tokenize', 'split', 'collate'])
    expect(events.some((e) => e.type === 'node-start')).toBe(false)
  })
})

describe('--data-path', () => {
  it('replaces data.source with a local file', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tunekit-cwd-'))
    const rows = [{ text: '<|im_start|>user\nOpposite of in?<|im_end|>\n<|im_start|>assistant\nout<|im_end|>\n' }]
    writeFileSync(join(cwd, 'mine.jsonl'), rows.map((r) => `${JSON.stringify(r)}\n`).join(''))
    const r = await cli(cwd, 'run', join(root, 'recipes/tiny-chat.ts'), '--data-path', 'mine.jsonl', '--until', 'format', '--json')
    expect(r.code).toBe(0)
    const progress = r.out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; node?: string; done?: number }).filter((e) => e.type === 'node-progress')
    expect(progress.map((e) => [e.node, e.done])).toEqual([['source', 1], ['format', 1]])
  })
})

describe('a local data file that does not exist', () => {
  it('run stops before any node runs, naming the file as resolved from the recipe folder', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'tunekit-cwd-')), 'recipes')
    mkdirSync(dir)
    const recipe = `import { defineRecipe, file } from '@tunekit/core'
export const recipe = defineRecipe({
  name: 'mine',
  model: { id: 'tiny', family: 'mistral', random: { tokenizer: 'mistral', config: { hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2 } } },
  data: { source: file('../data/nope.jsonl'), format: 'alpaca' },
  args: { maxSteps: 2 },
})
`
    // .mts: the temp folder has no package.json saying "type": "module".
    writeFileSync(join(dir, 'mine.mts'), recipe)
    const r = await cli(dir, 'run', 'mine.mts', '--json')
    expect(r.code).toBe(1)
    expect(r.out).toBe('')
    expect(r.err.replaceAll(join(dir, '..'), '$TMP')).toMatchInlineSnapshot(`
      "Cannot run mine: an input is not on this machine
      ✖ TK311 the data file or folder "$TMP/data/nope.jsonl" does not exist → at data.source.path
        value: "../data/nope.jsonl"
        fix: A relative path in file('…') is read from the recipe file's folder; fix the path, or pass the data with --data-path.
      "
    `)
  })
})

describe('--help', () => {
  it.each(['run', 'eval', 'plan', 'check', 'graph', 'chat', 'merge', 'init', 'schema', 'setup'])('tunekit %s --help', async (verb) => {
    const r = await cli(root, verb, '--help')
    expect(r.code).toBe(0)
    expect(r.out).toMatch(new RegExp(`^Usage: tunekit ${verb} `))
  })
})

describe('Ctrl-C', () => {
  it('stops training at a safe point and exits with 130', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tunekit-cwd-'))
    const { spawn: start } = await import('node:child_process')
    const child = start(process.execPath, [join(root, 'packages/cli/bin/tunekit.js'), 'run', join(root, 'recipes/tiny-chat.ts'), '--json'], { cwd })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      // Interrupt once training has taken its first steps.
      if (out.includes('"type":"step"') && !child.killed) child.kill('SIGINT')
    })
    const code = await new Promise<number | null>((done) => child.on('close', done))
    expect(code).toBe(130)
    const end = out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; ok?: boolean; code?: string }).find((e) => e.type === 'run-end')
    expect(end).toMatchObject({ ok: false, code: 'TK404' })
    // The backend the run resolved to is in events.jsonl too, right after run-start (it used to reach stdout only).
    const logged = readFileSync(join(cwd, 'runs', 'tiny-chat', 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; name?: string; reason?: string })
    expect(logged.slice(0, 2).map((e) => e.type)).toEqual(['run-start', 'backend'])
    expect(logged[1]).toMatchObject({ name: 'tfjs', reason: expect.stringContaining('tfjs') })
  }, 120_000)
})
