import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

// Every warning is an error: a broken {@link}, a public type referencing an unexported one, or a
// TSDoc tag typedoc does not know. The whole reference exactly as `npm run docs` builds it
// (typedoc.json, packages mode, which reads each package's own typedoc.json, core's
// intentionallyNotExported among them); the packages' build configs compile in
// test/e2e/install-tarballs.test.ts (npm pack).

const root = fileURLToPath(new URL('../../', import.meta.url))

/** Runs typedoc with `args`; its exit code and everything it printed. */
const typedoc = (args: string[]): Promise<{ code: number; output: string }> =>
  promisify(execFile)(process.execPath, [join(root, 'node_modules/typedoc/bin/typedoc'), ...args], { cwd: root, env: { ...process.env, NO_COLOR: '1' } }).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, output: e.stdout + e.stderr }),
  )

describe('typedoc', () => {
  it('builds the API reference of every package (npm run docs) without a warning', async () => {
    const result = await typedoc(['--options', 'typedoc.json', '--emit', 'none', '--treatWarningsAsErrors'])
    expect(result.output).not.toMatch(/\[(warning|error)\]/)
    expect(result.code).toBe(0)
  }, 300_000) // ~65 s of CPU on an idle 2-core machine; more when other work shares it
})
