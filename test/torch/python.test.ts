// The worker's own pytest suite (packages/torch/python/tests), run by `npm test`: a failing
// pytest fails this test, with pytest's report in the message.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { python, repoRoot } from './helpers.ts'

it('pytest: the worker package passes its unit tests', { timeout: 400_000 }, () => {
  const dir = join(repoRoot, 'packages', 'torch', 'python')
  const r = spawnSync(python, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'tests'], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, HF_HUB_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false' },
  })
  const report = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-40).join('\n')
  expect(r.status, report).toBe(0)
  expect(report).toMatch(/\d+ passed/)
})
