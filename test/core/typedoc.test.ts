import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

// `npm run docs` builds the API reference of every package (typedoc.json, packages mode); that
// takes too long for a test, so this checks the core package alone, the same way (its
// packages/core/typedoc.json, the TypeScript sources), with every warning an error: a broken
// {@link}, a public type referencing an unexported one, or a TSDoc tag typedoc does not know.

const root = fileURLToPath(new URL('../../', import.meta.url))

describe('typedoc', () => {
  it('documents @tunekit/core without a warning', async () => {
    const args = [
      join(root, 'node_modules/typedoc/bin/typedoc'),
      '--options', 'packages/core/typedoc.json',
      '--entryPointStrategy', 'resolve',
      '--entryPoints', 'packages/core/src/index.ts',
      '--tsconfig', 'packages/core/tsconfig.build.json',
      '--disableSources',
      '--emit', 'none',
      '--treatWarningsAsErrors',
    ]
    const result = await promisify(execFile)(process.execPath, args, { cwd: root, env: { ...process.env, NO_COLOR: '1' } }).then(
      ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, output: e.stdout + e.stderr }),
    )
    expect(result.output).not.toMatch(/\[(warning|error)\]/)
    expect(result.code).toBe(0)
  })
})
