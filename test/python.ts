// The four Pythons the tests use, all built by `npm test` (scripts/ensure-python.sh): the worker's
// stack (TUNEKIT_PYTHON, else .venv), the reference implementations — sacrebleu, rouge-score,
// gguf, tensorboard, the SQuAD scripts — (TUNEKIT_REFERENCE_PYTHON, else .venv-reference), an
// old transformers 4.38 / PEFT 0.9 / tokenizers 0.15 stack (TUNEKIT_COMPAT_PYTHON, else .venv-compat)
// TRL over the worker stack (TUNEKIT_TRL_PYTHON, else .venv-trl) and bitsandbytes + galore-torch over
// it (TUNEKIT_BNB_PYTHON, else .venv-bnb). Never
// a path of its own: tests find them from the repository root, so they run from any checkout path.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../', import.meta.url))

/** Path of the worker stack's interpreter (torch, transformers, PEFT). */
export const workerPython = (): string => process.env.TUNEKIT_PYTHON ?? `${root}.venv/bin/python`

/** Path of the reference environment's interpreter. */
export const referencePython = (): string => process.env.TUNEKIT_REFERENCE_PYTHON ?? `${root}.venv-reference/bin/python`

/** Path of the old transformers / PEFT / tokenizers stack's interpreter (TUNEKIT_COMPAT_PYTHON, else .venv-compat). */
export const compatPython = (): string => process.env.TUNEKIT_COMPAT_PYTHON ?? `${root}.venv-compat/bin/python`

/** Path of TRL's environment (the preference stages' oracle; TUNEKIT_TRL_PYTHON, else .venv-trl). */
export const trlPython = (): string => process.env.TUNEKIT_TRL_PYTHON ?? `${root}.venv-trl/bin/python`

/** Path of bitsandbytes' and galore-torch's environment over the worker stack (LoftQ's oracle, GaLore; TUNEKIT_BNB_PYTHON, else .venv-bnb). */
export const bnbPython = (): string => process.env.TUNEKIT_BNB_PYTHON ?? `${root}.venv-bnb/bin/python`

/**
 * TRL 0.29.1's unpacked wheel (TUNEKIT_TRL029, else .venv-trl/trl-0.29.1, unpacked by
 * scripts/ensure-python.sh): the last TRL with PPOTrainer, put first on PYTHONPATH of a .venv-trl process.
 */
export const trl029Path = (): string => process.env.TUNEKIT_TRL029 ?? `${root}.venv-trl/trl-0.29.1`

/** Runs a Python snippet in the reference environment with `input` on stdin; returns stdout, throws with stderr on failure. */
export function runReference(code: string, input = ''): string {
  const r = spawnSync(referencePython(), ['-c', code], { input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  if (r.error) throw r.error
  if (r.status !== 0) throw new Error(`reference Python exited with ${r.status}:\n${r.stderr}`)
  return r.stdout
}
