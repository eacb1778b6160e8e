// The import graph of the packages' sources: no module imports itself through others (type
// imports count: a cycle of types is still two files that cannot be read apart), and a package
// imports only packages below it (cli → recipes → backends → data, eval, hf → core).
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

const packages = fileURLToPath(new URL('../../packages/', import.meta.url))
const sources = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const full = join(dir, name)
    return statSync(full).isDirectory() ? sources(full) : name.endsWith('.ts') ? [full] : []
  })
const files = readdirSync(packages).flatMap((p) => sources(join(packages, p, 'src')))
const specifiers = (file: string): string[] =>
  [...readFileSync(file, 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)/g)].map((m) => (m[1] ?? m[2])!)

it('has no import cycle between modules', () => {
  const edges = new Map(files.map((f) => [f, specifiers(f).filter((s) => s.startsWith('.')).map((s) => normalize(join(dirname(f), s)))]))
  const cycles: string[] = []
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const visit = (f: string): void => {
    state.set(f, 'open')
    stack.push(f)
    for (const g of edges.get(f) ?? []) {
      if (!edges.has(g)) continue
      if (state.get(g) === 'open') cycles.push([...stack.slice(stack.indexOf(g)), g].map((p) => relative(packages, p)).join(' → '))
      else if (!state.has(g)) visit(g)
    }
    stack.pop()
    state.set(f, 'done')
  }
  for (const f of files) if (!state.has(f)) visit(f)
  expect(cycles).toEqual([])
})

it('imports packages only downwards', () => {
  const level: Record<string, number> = { core: 0, data: 1, eval: 1, hf: 1, tfjs: 2, torch: 2, recipes: 3, cli: 4, ui: 5 }
  const wrong: string[] = []
  for (const f of files) {
    const own = relative(packages, f).split('/')[0]!
    for (const s of specifiers(f)) {
      const m = /^@tunekit\/([a-z]+)/.exec(s)
      if (m && m[1] !== own && !(level[m[1]!]! < level[own]!)) wrong.push(`${relative(packages, f)} imports ${s}`)
    }
  }
  expect(wrong).toEqual([])
})
