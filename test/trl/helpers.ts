// What the TRL parity tests share: TRL's process (one per test file, fed a JSON request on stdin)
// and the initial LoRA adapter every run of a test starts from.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { mulberry32, type Recipe } from '@tunekit/core'
import { initialAdapter, loraSpecFromRecipe, readModelConfig, writeAdapter } from '@tunekit/hf'
import { trlPython } from '../python.ts'

/** Runs `script` (in this folder) in TRL's environment with `request` on stdin; resolves to the JSON of its `result ` line. */
export function runTrl<T>(script: string, request: unknown): Promise<T> {
  const child = spawn(trlPython(), [join(import.meta.dirname, script)], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, HF_HUB_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false', TQDM_DISABLE: '1', TRL_EXPERIMENTAL_SILENCE: '1' } })
  const lines: string[] = []
  const stderr: string[] = []
  // Trainer prints its logs on stdout too: the result is the line after the marker
  createInterface({ input: child.stdout }).on('line', (line) => void (line.startsWith('result ') && lines.push(line.slice(7))))
  child.stderr.on('data', (d: Buffer) => stderr.push(d.toString()))
  child.stdin.end(JSON.stringify(request))
  return new Promise<T>((resolve, reject) =>
    child.on('close', (code) => (code === 0 && lines.length === 1 ? resolve(JSON.parse(lines[0]!) as T) : reject(new Error(`TRL exited ${code}:\n${stderr.join('').slice(-4000)}`)))))
}

/** The recipe's LoRA adapter as tunekit draws it (A from the seed), with B drawn too: U(−0.05, 0.05), so the policy differs from the base. */
export async function writeStartAdapter(dir: string, recipe: Recipe, modelDir: string): Promise<void> {
  const { family, config } = await readModelConfig(modelDir)
  const { lora } = recipe
  const spec = loraSpecFromRecipe({ ...lora, modulesToSave: [...lora.modulesToSave], targetModules: [...lora.targetModules], trainableTokens: false }, family)
  const tensors = await initialAdapter({ family, config, lora: spec, seed: 3 })
  const next = mulberry32(7)
  for (const [name, t] of tensors) if (name.includes('lora_B')) t.data.forEach((_, i) => (t.data[i] = (next() - 0.5) * 0.1))
  await writeAdapter(dir, { tensors, loraConfig: spec, family, baseModel: modelDir })
}
