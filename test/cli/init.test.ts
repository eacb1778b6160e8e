import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { loadRecipe, runCli } from '@tunekit/cli'

const root = fileURLToPath(new URL('../../', import.meta.url))
const exec = promisify(execFile)
// Scaffolds go inside the repository (under the ignored .tunekit/) so that they resolve the
// workspace's @tunekit packages, as a project that installed them would.
mkdirSync(join(root, '.tunekit'), { recursive: true })
const work = mkdtempSync(join(root, '.tunekit', 'test-init-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

async function cli(cwd: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await runCli(args, { cwd, out: (t) => void (out += t), err: (t) => void (err += t) })
  return { code, out, err }
}

/** A command in `cwd`; exit code and output. */
async function spawn(cwd: string, command: string, args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await exec(command, args, { cwd, env: { ...process.env, NO_COLOR: '1' } })
    return { code: 0, output: stdout + stderr }
  } catch (e) {
    const { code, stdout, stderr } = e as { code: number; stdout: string; stderr: string }
    return { code, output: stdout + stderr }
  }
}

describe('tunekit init', () => {
  it('writes a recipe file that passes tunekit check', async () => {
    const init = await cli(work, 'init', 'recipes/support-bot.ts', '--model', 'mistralai/Mistral-7B-v0.1')
    expect(init.err).toBe('')
    expect(init.code).toBe(0)
    const file = join(work, 'recipes', 'support-bot.ts')
    const text = readFileSync(file, 'utf8')
    expect(text).toContain("name: 'support-bot'")
    expect(text).toContain("model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' }")
    expect(text).toContain('npx tsx recipes/support-bot.ts plan')
    expect(text).not.toContain('random')
    const check = await cli(work, 'check', 'recipes/support-bot.ts')
    expect(check.err).toBe('')
    expect(check.out).toBe('✔ recipes/support-bot.ts: no problems\n')
    expect(check.code).toBe(0)
  })

  it('a vision-language checkpoint gets the torch backend it trains on (VisionNeedsTorch otherwise): the recipe loads', async () => {
    const init = await cli(work, 'init', 'recipes/looks.ts', '--model', 'llava-hf/llava-1.5-7b-hf')
    expect(init.code).toBe(0)
    const text = readFileSync(join(work, 'recipes', 'looks.ts'), 'utf8')
    expect(text).toContain("  model: { id: 'llava-hf/llava-1.5-7b-hf', family: 'llava' },\n  // LLaVA and Qwen2-VL train in the torch worker")
    expect(text).toContain("\n  backend: 'torch',\n  data: {")
    // loading validates it (the type check is the first test's)
    expect((await loadRecipe(join(work, 'recipes', 'looks.ts'))).backend).toBe('torch')
  })

  it('refuses to overwrite without --force and names the fix', async () => {
    const again = await cli(work, 'init', 'recipes/support-bot.ts')
    expect(again.code).toBe(1)
    expect(again.err).toMatchInlineSnapshot(`
      "Would overwrite existing files
      ✖ TK411 "recipes/support-bot.ts" exists already → at target
        value: "recipes/support-bot.ts"
        fix: Pick another path (\`tunekit init <file or folder>\`), or pass --force to overwrite it.
      "
    `)
  })

  it('asks for --family when the model is not a known checkpoint', async () => {
    const r = await cli(work, 'init', 'recipes/other.ts', '--model', 'someone/some-model')
    expect(r.code).toBe(1)
    expect(r.err).toMatchInlineSnapshot(`
      "Model family needed
      ✖ TK412 "someone/some-model" is not a checkpoint tunekit knows, so its family cannot be inferred → at --family
        value: "someone/some-model"
        fix: Pass --family (llama, mistral, qwen2, qwen3, gemma, gemma2, phi3, mixtral, yi, bert, llava, qwen2_vl): \`tunekit init --model someone/some-model --family llama\`; for an architecture none of these is, write the recipe with model.family: 'auto', backend: 'torch' and lora.targetModules.
      "
    `)
  })

  it('writes a recipe package whose recipes pass tunekit check and whose own test passes', async () => {
    const init = await cli(work, 'init', 'acme', '--package', '--name', '@acme/chat-recipes')
    expect(init.code).toBe(0)
    // @tunekit/* are not on the registry: inside this checkout, `npm install` is not the next step.
    expect(init.out).toContain('next: cd acme && npm test   (tunekit resolves from this checkout: no npm install needed here)')
    const dir = join(work, 'acme')
    expect(existsSync(join(dir, 'src', 'acme-chat.ts'))).toBe(true)
    expect(existsSync(join(dir, 'src', 'support-chat.ts'))).toBe(false)
    expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))).toMatchObject({
      name: '@acme/chat-recipes',
      scripts: { check: 'tunekit check src/recipes/acme-chat.ts', prepack: 'npm run build' },
      files: ['dist', 'README.md'],
    })
    expect(readFileSync(join(dir, 'src', 'index.ts'), 'utf8')).toContain("export { acmeChat } from './acme-chat.ts'")
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain("import { acmeChat } from '@acme/chat-recipes'")

    // The tunekit CLI as this monorepo runs it (sources through tsx), from inside the package.
    const [check, test, plan] = await Promise.all([
      spawn(dir, process.execPath, ['--conditions=source', '--import', 'tsx', join(root, 'packages/cli/src/bin.ts'), 'check', 'src/recipes/acme-chat.ts']),
      spawn(dir, process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run']),
      // `npx tsx src/recipes/acme-chat.ts plan`, as the package README says: tsx has no `source` condition.
      spawn(dir, process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), 'src/recipes/acme-chat.ts', 'plan']),
    ])
    expect(plan.output).toContain('plan: acme-chat')
    expect(plan.code).toBe(0)
    expect(check.output).toContain('✔ src/recipes/acme-chat.ts: no problems')
    expect(check.code).toBe(0)
    expect(test.output).toMatch(/Tests\s+.*2 passed/)
    expect(test.code).toBe(0)
  })

  it('outside the checkout, names the tarballs to make and install (tunekit is on no registry) and the ESM switch', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'tunekit-init-outside-'))
    try {
      // The checkout as init prints it: its real path, quoted where it holds a space (the CI copy).
      const checkout = realpathSync(root).replace(/\/$/, '')
      const shown = (text: string): string => text.replaceAll(`'${checkout}'`, '<checkout>').replaceAll(checkout, '<checkout>')
      const file = await cli(outside, 'init', 'my-recipe.ts')
      expect(file.err).toBe('')
      expect(file.code).toBe(0)
      expect(shown(file.out)).toMatchInlineSnapshot(`
        "✔ wrote my-recipe.ts
          first: npm install <checkout>/.tunekit/tarballs/*.tgz && npm pkg set type=module
            (tunekit is on no registry yet: make those tarballs first with \`cd <checkout> && npm run tarballs\`)
            (a recipe ends in a top-level \`await main(…)\`: tsx runs it as an ES module only under "type": "module")
          next: npx tsx my-recipe.ts plan
        "
      `)
      const pkg = await cli(outside, 'init', 'my-recipes', '--package', '--name', '@acme/recipes')
      expect(pkg.code).toBe(0)
      expect(shown(pkg.out)).toMatchInlineSnapshot(`
        "✔ wrote the recipe package @acme/recipes in my-recipes/
          acmeChat() in src/acme-chat.ts, a recipe in src/recipes/acme-chat.ts, a test in test/
          next: cd my-recipes && npm install <checkout>/.tunekit/tarballs/*.tgz && npm test
            (tunekit is on no registry yet: make those tarballs first with \`cd <checkout> && npm run tarballs\`)
        "
      `)
      // What the package will be published with: the version of the packages it was made with.
      const version = (JSON.parse(readFileSync(join(root, 'packages/cli/package.json'), 'utf8')) as { version: string }).version
      expect(JSON.parse(readFileSync(join(outside, 'my-recipes', 'package.json'), 'utf8'))).toMatchObject({
        dependencies: { '@tunekit/core': `^${version}`, '@tunekit/recipes': `^${version}` },
        devDependencies: { '@tunekit/cli': `^${version}` },
      })
    } finally {
      rmSync(outside, { recursive: true, force: true })
    }
  })
})
