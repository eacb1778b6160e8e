#!/usr/bin/env node
// The `tunekit` command. In this repository it runs the TypeScript sources through tsx (no build
// step); a published package without tsx or without sources runs the compiled dist/bin.js.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const source = join(here, '../src/bin.ts')
const built = join(here, '../dist/bin.js')

/** The nearest tsconfig.json above the package (the repository's, whose `paths` map @tunekit/* to sources). */
function findTsconfig(dir) {
  for (let cur = dir; ; cur = dirname(cur)) {
    if (existsSync(join(cur, 'tsconfig.json'))) return join(cur, 'tsconfig.json')
    if (dirname(cur) === cur) return undefined
  }
}

async function tsxRegister() {
  try {
    return (await import('tsx/esm/api')).register
  } catch {
    return undefined
  }
}

// An installed package (under node_modules) runs its build; a checkout runs its sources.
const installed = here.split(/[\\/]/).includes('node_modules') && existsSync(built)
const register = !installed && existsSync(source) ? await tsxRegister() : undefined
if (register) {
  const tsconfig = findTsconfig(join(here, '..'))
  register(tsconfig ? { tsconfig } : {})
  await import(source)
} else if (existsSync(built)) {
  await import(built)
} else {
  process.stderr.write('tunekit: neither tsx with src/bin.ts nor a built dist/bin.js was found; run `npm run build -w @tunekit/cli`.\n')
  process.exitCode = 2
}
