import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { readRecipeFile, runCli } from '@tunekit/cli'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))
const bin = join(root, 'packages/cli/bin/tunekit.js')
const run = promisify(execFile)

interface Result {
  code: number
  stdout: string
  stderr: string
}

/** Runs a command from the repository root and returns its exit code and output. */
async function spawn(command: string, args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await run(command, args, { cwd: root, env: { ...process.env, NO_COLOR: '1' } })
    return { code: 0, stdout, stderr }
  } catch (e) {
    const { code, stdout, stderr } = e as { code: number; stdout: string; stderr: string }
    return { code, stdout, stderr }
  }
}

/** `tunekit …` in-process: exit code and what it printed. */
async function cli(...args: string[]): Promise<Result> {
  let stdout = ''
  let stderr = ''
  const code = await runCli(args, { cwd: root, out: (t) => void (stdout += t), err: (t) => void (stderr += t) })
  return { code, stdout, stderr }
}

describe('bin/tunekit.js check (spawned, as `npx tunekit check`)', () => {
  // The spawns run side by side: each one starts tsx and the TypeScript compiler.
  const results: Record<string, Result> = {}
  beforeAll(async () => {
    const runs = {
      goodTs: spawn(process.execPath, [bin, 'check', 'test/fixtures/recipes/good.ts']),
      badTs: spawn(process.execPath, [bin, 'check', 'test/fixtures/recipes/bad.ts']),
      json: spawn(process.execPath, [bin, 'check', 'test/fixtures/recipes/good.json']),
      yaml: spawn(process.execPath, [bin, 'check', 'test/fixtures/recipes/good.yaml']),
      entry: spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/recipes/good.ts', 'check']),
      badEntry: spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/recipes/bad.ts']),
    }
    for (const [name, p] of Object.entries(runs)) results[name] = await p
  })

  it('exits 0 on a good .ts recipe, which importing did not run', () => {
    expect(results.goodTs).toEqual({ code: 0, stdout: '✔ test/fixtures/recipes/good.ts: no problems\n', stderr: '' })
  })

  it('prints the three mistakes of a bad .ts recipe with codes and paths, and exits 1', () => {
    const { code, stdout, stderr } = results.badTs!
    expect(code).toBe(1)
    expect(stdout).toBe('')
    expect(stderr).toMatchInlineSnapshot(`
      "test/fixtures/recipes/bad.ts:8:47 - error TS2322: Type '"c_attn"' is not assignable to type '"q_proj" | "k_proj" | "v_proj" | "o_proj" | "gate_proj" | "up_proj" | "down_proj"'.
      Recipe has 3 problems
      ✖ TK102 unknown key "rnak" (did you mean "rank"?); allowed keys here: rank, alpha, dropout, targetModules, modulesToSave, trainableTokens, rsLora, useDora, loraplusLrRatio, init, initLoraWeights, loftqConfig → at lora.rnak
        value: 16
        fix: Check the spelling; keys are camelCase (rank, learningRate, targetModules).
      ✖ TK103 expected a number > 0 → at args.learningRate
        value: -0.0002
        fix: Pick a value inside the range; the key documentation gives typical values.
      ✖ TK201 "c_attn" is not a module of the mistral family; its modules are q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj → at lora.targetModules[1]
        value: "c_attn"
        fix: Use module names from the mistral family (the editor offers them after \`family: 'mistral'\`), or 'all-linear'.
      ✖ test/fixtures/recipes/bad.ts: 1 TypeScript error, 3 recipe problems
      "
    `)
  })

  it('checks .json and .yaml recipes', () => {
    expect(results.json).toEqual({ code: 0, stdout: '✔ test/fixtures/recipes/good.json: no problems\n', stderr: '' })
    expect(results.yaml).toEqual({ code: 0, stdout: '✔ test/fixtures/recipes/good.yaml: no problems\n', stderr: '' })
  })

  it('runs the CLI on the preset recipe when the recipe file is the entry point', () => {
    expect(results.entry).toEqual({ code: 0, stdout: '✔ test/fixtures/recipes/good.ts: no problems\n', stderr: '' })
  })

  it('a bad recipe file run as a script prints its problems without a Node frame or stack, and exits 1', () => {
    const { code, stdout, stderr } = results.badEntry!
    expect(code).toBe(1)
    expect(stdout).toBe('')
    expect(stderr.split('\n')[0]).toBe('Recipe has 3 problems')
    expect(stderr).toContain('✖ TK201 "c_attn" is not a module of the mistral family')
    expect(stderr).not.toMatch(/node:internal|triggerUncaughtException|\bat .*define\.ts/)
  })
})

describe('tunekit check and schema (in-process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunekit-check-'))

  it('without a recipe, every verb says how to give one (NoRecipeGiven), without a stack', async () => {
    const r = await cli('check')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatchInlineSnapshot(`
      "No recipe given
      ✖ TK410 \`tunekit check\` needs a recipe and none was given
        fix: Pass a recipe file (.ts, .json or .yaml): \`tunekit check recipes/tiny-chat.ts\`, or run the recipe file itself: \`npx tsx recipes/tiny-chat.ts check\`.
      "
    `)
    for (const verb of ['run', 'plan', 'graph', 'merge', 'chat']) {
      const v = await cli(verb)
      expect(v.code).toBe(1)
      expect(v.stderr).toContain(`✖ TK410 \`tunekit ${verb}\` needs`)
      expect(v.stderr).not.toMatch(/\n\s+at /)
    }
  })

  it('reports every problem of a YAML recipe and exits 1', async () => {
    const file = join(dir, 'bad.yaml')
    writeFileSync(file, 'model: { id: x/y, family: llama }\nlora: { targetModules: [c_attn] }\ndata: { source: { kind: hub, repo: a/b }, format: alpaca, maxLenght: 512 }\n')
    const { code, stderr } = await cli('check', file)
    expect(code).toBe(1)
    expect(stderr.replaceAll(dir, '<tmp>')).toMatchInlineSnapshot(`
      "Recipe has 2 problems
      ✖ TK102 unknown key "maxLenght" (did you mean "maxLength"?); allowed keys here: source, format, template, maxLength, maxPromptLength, truncation, mask, split, packing, onError, limit → at data.maxLenght
        value: 512
        fix: Check the spelling; keys are camelCase (rank, learningRate, targetModules).
      ✖ TK201 "c_attn" is not a module of the llama family; its modules are q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj → at lora.targetModules[0]
        value: "c_attn"
        fix: Use module names from the llama family (the editor offers them after \`family: 'llama'\`), or 'all-linear'.
      ✖ <tmp>/bad.yaml: 2 recipe problems
      "
    `)
  })

  it('a recipe path that does not exist, or a data file given as the recipe, says so', async () => {
    const missing = await cli('run', 'recipes/nope.ts')
    expect(missing.code).toBe(1)
    expect(missing.stderr.replaceAll(root, '$ROOT/')).toMatchInlineSnapshot(`
      "Recipe file not found
      ✖ TK413 "$ROOT/recipes/nope.ts" does not exist
        value: "$ROOT/recipes/nope.ts"
        fix: Check the path (it is read from where you run the command); \`tunekit init <file.ts>\` writes a new recipe.
      "
    `)
    const data = await cli('plan', 'README.md')
    expect(data.stderr).toContain('Not a recipe file')
  })

  it('warns about a local data file that does not exist, without failing', async () => {
    const file = join(dir, 'no-data.yaml')
    writeFileSync(file, 'model: { id: x/y, family: llama }\ndata: { source: { kind: file, path: data/none.jsonl }, format: alpaca }\n')
    const r = await cli('check', file)
    expect(r.code).toBe(0)
    expect(r.stderr.replaceAll(dir, '<tmp>')).toMatchInlineSnapshot(`
      "⚠ TK311 the data file or folder "<tmp>/data/none.jsonl" does not exist → at data.source.path
        value: "data/none.jsonl"
        fix: A relative path in file('…') is read from the recipe file's folder; fix the path, or pass the data with --data-path.
      "
    `)
  })

  it("checks a warm start's adapter_config.json against the recipe's lora options (TK242)", async () => {
    const adapter = join(dir, 'published-adapter')
    mkdirSync(adapter, { recursive: true })
    writeFileSync(join(adapter, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 16, lora_alpha: 32, target_modules: ['q_proj', 'v_proj'], modules_to_save: null }))
    writeFileSync(join(adapter, 'adapter_model.safetensors'), '')
    const file = join(dir, 'warm.yaml')
    writeFileSync(file, 'model: { id: x/y, family: llama }\ndata: { source: { kind: inline, records: [{ a: 1 }] }, format: alpaca }\nlora: { rank: 16, alpha: 16, init: published-adapter }\n')
    const r = await cli('check', file)
    expect(r.code).toBe(1)
    expect(r.stderr.replaceAll(dir, '<tmp>')).toMatchInlineSnapshot(`
      "The warm-start adapter does not match the recipe's LoRA options
      ✖ TK242 "published-adapter" has lora_alpha 32 but the recipe's lora.alpha is 16; a warm start continues that adapter, so its shape and scale must be the recipe's → at lora.alpha
        value: 16
        fix: Set lora.alpha: 32 (the adapter's value), or start from another adapter.
      ✖ <tmp>/warm.yaml: 1 recipe problem
      "
    `)
  })

  it('reports a file that cannot be parsed as TK406, and a missing one as TK413', async () => {
    const file = join(dir, 'broken.json')
    writeFileSync(file, '{ "model": ')
    const broken = await cli('check', file)
    expect(broken.code).toBe(1)
    expect(broken.stderr.replaceAll(dir, '<tmp>')).toMatch(/^The recipe file cannot be loaded\n✖ TK406 <tmp>\/broken.json: /)
    const missing = await cli('check', join(dir, 'missing.ts'))
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('✖ TK413 ')
  })

  it('answers an unknown command with exit 1 and help', async () => {
    const { code, stderr } = await cli('frob')
    expect(code).toBe(1)
    expect(stderr).toContain("unknown command 'frob'")
  })

  it('writes the JSON Schema of a recipe, every key described by its TSDoc', async () => {
    const out = join(dir, 'recipe.schema.json')
    const { code } = await cli('schema', '--out', out)
    expect(code).toBe(0)
    const schema = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema')
    const undescribed: string[] = []
    const walk = (node: unknown, path: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${path}[${i}]`))
      if (node === null || typeof node !== 'object') return
      const properties = (node as { properties?: Record<string, { description?: string }> }).properties
      for (const [key, child] of Object.entries(properties ?? {})) {
        if (!child.description) undescribed.push(`${path}.${key}`)
      }
      for (const [key, child] of Object.entries(node)) walk(child, `${path}.${key}`)
    }
    walk(schema, '')
    expect(undescribed).toEqual([])
    const lora = (schema.properties as Record<string, { properties: Record<string, { description: string; default: unknown }> }>).lora!
    expect(lora.properties.rank).toMatchObject({ type: 'integer', default: 8 })
    expect(lora.properties.rank!.description).toMatchInlineSnapshot(`"Rank r of the low-rank update B·A. Adapter memory and trainable parameters grow linearly with it; the QLoRA paper finds quality insensitive to r once all linear layers are adapted. Default: 8. See https://huggingface.co/docs/peft/package_reference/lora#peft.LoraConfig (r)"`)
  })
})

describe('readRecipeFile in a long-lived process', () => {
  afterEach(() => {
    delete process.env.TUNEKIT_TEST_RELOAD
  })

  // One process loads a recipe, its files change, it loads it again (the in-process CLI, `tunekit ui`):
  // the recipe's own files are evaluated afresh, the packages they import once.
  it('a recipe file loaded again sees its edited files, data files and environment; packages are evaluated once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tunekit-reload-'))
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }))
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { paths: { '@tunekit/*': [join(root, 'packages/*/src/index.ts')] } } }))
    const write = (part: string, name: string, data: string) => {
      writeFileSync(join(dir, 'part.ts'), `export const part: string = ${JSON.stringify(part)}\n`)
      writeFileSync(join(dir, 'data.txt'), data)
      writeFileSync(
        join(dir, 'recipe.ts'),
        [
          "import { readFileSync } from 'node:fs'",
          "import { defineRecipe } from '@tunekit/core'",
          "import { part } from './part.ts'",
          `export const recipe = { name: ${JSON.stringify(name)}, part, env: process.env.TUNEKIT_TEST_RELOAD, data: readFileSync(new URL('./data.txt', import.meta.url), 'utf8'), defineRecipe }`,
        ].join('\n'),
      )
    }
    type Loaded = { name: string; part: string; env?: string; data: string; defineRecipe: unknown }
    write('one', 'first', 'a')
    const first = (await readRecipeFile(join(dir, 'recipe.ts'))) as Loaded
    expect(first).toMatchObject({ name: 'first', part: 'one', env: undefined, data: 'a' })

    write('two', 'second', 'b')
    process.env.TUNEKIT_TEST_RELOAD = 'set'
    const second = (await readRecipeFile(join(dir, 'recipe.ts'))) as Loaded
    expect(second).toMatchObject({ name: 'second', part: 'two', env: 'set', data: 'b' })
    expect(second.defineRecipe).toBe(first.defineRecipe)
  })
})
