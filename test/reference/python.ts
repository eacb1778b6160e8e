// The Python of the reference implementations (sacrebleu, rouge-score, gguf, tensorboard):
// TUNEKIT_REFERENCE_PYTHON, else the .venv-reference that `npm test` builds (scripts/ensure-python.sh).
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** Path of the reference environment's interpreter. */
export const referencePython = (): string => process.env.TUNEKIT_REFERENCE_PYTHON ?? `${root}.venv-reference/bin/python`

/** Runs a Python snippet in the reference environment with `input` on stdin; returns stdout, throws with stderr on failure. */
export function runReference(code: string, input = ''): string {
  const r = spawnSync(referencePython(), ['-c', code], { input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  if (r.error) throw r.error
  if (r.status !== 0) throw new Error(`reference Python exited with ${r.status}:\n${r.stderr}`)
  return r.stdout
}
