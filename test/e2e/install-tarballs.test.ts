// tunekit as a user gets it before it is on the registry: `npm pack` of every workspace package
// (prepack builds dist/), `npm install` of the tarballs into an empty folder outside the checkout
// (their third-party dependencies from the npm cache or registry), then there the first steps of
// the README: `npx tunekit init`, the commands it prints, the recipe end to end and `tunekit chat`.
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chat, type CliContext } from '@tunekit/cli'
import { workerPython } from '../python.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'tunekit-tarballs-'))
const tarballs = join(work, 'tarballs')
const project = join(work, 'project')
afterAll(() => rmSync(work, { recursive: true, force: true }))

/** One entry of `npm pack --json` (the same list `npm pack --dry-run --json` prints). */
interface Packed {
  name: string
  filename: string
  size: number
  unpackedSize: number
  files: { path: string }[]
}

// The npm_* variables of an enclosing `npm test` (prefix, package, lifecycle) must not steer the
// user's npm; TUNEKIT_PYTHON lets backend 'auto' probe the Python worker shipped in @tunekit/torch.
const env = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD')),
  NO_COLOR: '1',
  TUNEKIT_PYTHON: workerPython(),
}

/** A command in `cwd` (optionally through the shell, as a user types it); exit code and output. */
function sh(cwd: string, command: string, args: string[] = [], input?: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) => {
    const shell = args.length === 0
    const child = execFile(shell ? 'sh' : command, shell ? ['-c', command] : args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (error, out, err) =>
      done({ code: error ? Number(error.code ?? 1) : 0, out, err }),
    )
    if (input !== undefined) child.stdin!.end(input)
  })
}

let packed: Packed[] = []
let init = { code: -1, out: '', err: '' }
let packageInit: Promise<{ code: number; out: string; err: string }> | undefined

beforeAll(async () => {
  mkdirSync(tarballs)
  const pack = await sh(root, 'npm', ['pack', '--workspaces', '--json', '--pack-destination', tarballs])
  if (pack.code !== 0) throw new Error(`npm pack failed:\n${pack.out}\n${pack.err}`)
  packed = JSON.parse(pack.out) as Packed[]
  // An empty project, as `npm init` leaves it: a package.json without "type": "module".
  mkdirSync(project)
  writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'my-project', private: true }, null, 2)}\n`)
  const files = packed.map((p) => join(tarballs, p.filename))
  const install = await sh(project, 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...files])
  if (install.code !== 0) throw new Error(`npm install of the tarballs failed:\n${install.out}\n${install.err}`)
  init = await sh(project, 'npx', ['tunekit', 'init', 'my-recipe'])
}, 600_000)

const filesOf = (name: string): string[] => packed.find((p) => p.name === name)!.files.map((f) => f.path)

describe('npm pack', () => {
  it('packs every workspace package', () => {
    const workspaces = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces
    const names = workspaces.map((w) => (JSON.parse(readFileSync(join(root, w, 'package.json'), 'utf8')) as { name: string }).name)
    expect(packed.map((p) => p.name)).toEqual(names)
  })

  it('each tarball holds its build, types, exports and bin, and no tests, caches or build info', () => {
    for (const p of packed) {
      const files = filesOf(p.name)
      const manifest = JSON.parse(readFileSync(join(root, 'packages', p.name.replace('@tunekit/', ''), 'package.json'), 'utf8')) as {
        exports: Record<string, string | Record<string, string>>
        bin?: Record<string, string>
      }
      const targets = Object.values(manifest.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e)))
      for (const target of [...targets, ...Object.values(manifest.bin ?? {})]) expect(files, `${p.name}: ${target}`).toContain(target.replace(/^\.\//, ''))
      expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'src/index.ts']))
      // Every module of the build comes with its declarations.
      for (const js of files.filter((f) => f.startsWith('dist/') && f.endsWith('.js'))) expect(files, p.name).toContain(js.replace(/\.js$/, '.d.ts'))
      const unwanted = files.filter(
        (f) =>
          /(^|\/)(node_modules|__pycache__|\.pytest_cache|\.tunekit|runs)\//.test(f) ||
          (/(^|\/)tests?\//.test(f) && !f.startsWith('templates/package/test/')) ||
          /\.(tsbuildinfo|pyc|log|tgz)$/.test(f) ||
          (f.endsWith('.test.ts') && f !== 'templates/package/test/recipes.test.ts'),
      )
      expect(unwanted, p.name).toEqual([])
      // A guard against shipping a model, a cache or a data set: the largest package is ~1 MB.
      expect(p.unpackedSize, p.name).toBeLessThan(3_000_000)
    }
  })

  it('every package has the one version and pins the others to it (released together, docs/release.md)', () => {
    const manifests = packed.map((p) => JSON.parse(readFileSync(join(root, 'packages', p.name.replace('@tunekit/', ''), 'package.json'), 'utf8')) as { version: string; dependencies?: Record<string, string> })
    const version = manifests[0]!.version
    for (const m of manifests) {
      expect(m.version).toBe(version)
      for (const [name, spec] of Object.entries(m.dependencies ?? {})) if (name.startsWith('@tunekit/')) expect(spec, name).toBe(version)
    }
    expect(packed.map((p) => p.filename)).toEqual(packed.map((p) => `${p.name.replace('@', '').replace('/', '-')}-${version}.tgz`))
  })

  it('@tunekit/torch ships its Python worker and the requirement locks', () => {
    const files = filesOf('@tunekit/torch')
    expect(files).toEqual(
      expect.arrayContaining(['python/tunekit_torch/__main__.py', 'python/tunekit_torch/train.py', 'python/requirements.lock', 'python/requirements-cpu.lock', 'python/requirements-cuda.lock', 'python/pyproject.toml']),
    )
  })

  it('@tunekit/cli ships the templates that init copies', () => {
    expect(filesOf('@tunekit/cli')).toEqual(expect.arrayContaining(['bin/tunekit.js', 'templates/recipe.ts', 'templates/package/package.json', 'templates/package/test/recipes.test.ts']))
  })
})

describe('installed from the tarballs, outside the checkout', () => {
  it('npx tunekit init my-recipe writes the recipe and prints the steps that make it run', () => {
    expect(init.err).toBe('')
    expect(init.code).toBe(0)
    expect(init.out).toMatchInlineSnapshot(`
      "✔ wrote my-recipe/my-recipe.ts
        first: npm pkg set type=module
          (a recipe ends in a top-level \`await main(…)\`: tsx runs it as an ES module only under "type": "module")
        next: npx tsx my-recipe/my-recipe.ts plan
      "
    `)
  })

  it('the printed commands plan the recipe', async () => {
    const first = /first: (.*)/.exec(init.out)![1]!
    expect((await sh(project, first)).code).toBe(0)
    const plan = await sh(project, /next: (.*)/.exec(init.out)![1]!)
    expect(plan.err).toBe('')
    expect(plan.code).toBe(0)
    expect(plan.out).toContain('plan: my-recipe')
    expect(plan.out).toMatch(/graph:\n(.*\n)*\s+○ train\s+to run.*\n\s+○ merge\s+to run/)
    expect(plan.out).toContain('model: tunekit/tiny-mistral (mistral, numbers from random)')
  })

  it('the recipe trains and merges end to end', async () => {
    // init --package (ts-morph, seconds of CPU) runs beside the single-threaded training.
    packageInit = sh(project, 'npx', ['tunekit', 'init', 'my-recipes', '--package'])
    const run = await sh(project, 'npx', ['tsx', 'my-recipe/my-recipe.ts'])
    expect(run.code).toBe(0)
    // Backend 'auto' asked the Python worker inside the installed @tunekit/torch for CUDA.
    expect(run.out).toMatch(/auto: torch reports/)
    expect(run.out).toContain('run finished')
    const runDir = join(project, 'runs', 'my-recipe')
    for (const f of ['recipe.json', 'graph.json', 'events.jsonl', 'adapter/adapter_config.json', 'adapter/adapter_model.safetensors', 'merged/config.json', 'merged/model.safetensors', 'merged/chat_template.jinja']) {
      expect(existsSync(join(runDir, f)), f).toBe(true)
    }
    const events = readFileSync(join(runDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; loss?: number })
    const losses = events.filter((e) => e.type === 'step').map((e) => e.loss!)
    expect(losses.length).toBeGreaterThan(0)
    expect(losses.at(-1)!).toBeLessThan(losses[0]!)
  })

  it('npx tunekit chat answers from a pipe as the checkout answers with the same merged model', async () => {
    const questions = 'Hello, who are you?\nWhat do you do?\n'
    const installed = await sh(project, 'npx tunekit chat runs/my-recipe/merged --max-new-tokens 8', [], questions)
    expect(installed.code).toBe(0)
    let checkout = ''
    const ctx: CliContext = { out: (t) => void (checkout += t), err: () => {}, cwd: project, signal: new AbortController().signal, exitCode: 0 }
    await chat(ctx, join(project, 'runs', 'my-recipe', 'merged'), { backend: 'tfjs', maxNewTokens: '8' }, Readable.from([questions]))
    expect(installed.out.trimEnd().split('\n')).toHaveLength(2)
    expect(installed.out).toBe(checkout)
  })

  it('npx tunekit init for a folder outside the project names the tarballs to install there', async () => {
    const r = await sh(project, 'npx', ['tunekit', 'init', '../elsewhere/other.ts'])
    expect(r.code).toBe(0)
    // Installing there is the install above again (~20 s), so the test stops at what is printed:
    // the tarballs npm recorded in the project's lockfile, every one of them.
    const version = (JSON.parse(readFileSync(join(root, 'packages/cli/package.json'), 'utf8')) as { version: string }).version
    expect(r.out.replaceAll(`-${version}.tgz`, '-<version>.tgz')).toMatchInlineSnapshot(`
      "✔ wrote ../elsewhere/other.ts
        first: cd ../elsewhere && npm install ../tarballs/tunekit-cli-<version>.tgz ../tarballs/tunekit-core-<version>.tgz ../tarballs/tunekit-data-<version>.tgz ../tarballs/tunekit-eval-<version>.tgz ../tarballs/tunekit-hf-<version>.tgz ../tarballs/tunekit-recipes-<version>.tgz ../tarballs/tunekit-tfjs-<version>.tgz ../tarballs/tunekit-torch-<version>.tgz && npm pkg set type=module
          (a recipe ends in a top-level \`await main(…)\`: tsx runs it as an ES module only under "type": "module")
        next: npx tsx ../elsewhere/other.ts plan
      "
    `)
  })

  it('npx tunekit init --package points the new package at the same tarballs, every one', async () => {
    const r = (await packageInit)!
    expect(r.code).toBe(0)
    expect(r.out).toContain('next: cd my-recipes && npm install && npm test\n    (@tunekit/* come from the tarballs in ../tarballs:')
    const pkg = JSON.parse(readFileSync(join(project, 'my-recipes', 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> }
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['@tunekit/core', '@tunekit/recipes'])
    // The CLI's own dependencies too: npm would ask the registry for any left out.
    const specs = { ...pkg.dependencies, ...pkg.devDependencies }
    expect(Object.fromEntries(packed.map((p) => [p.name, specs[p.name]]))).toEqual(Object.fromEntries(packed.map((p) => [p.name, `file:../../tarballs/${p.filename}`])))
  })
})
