// Logits of one fixed sequence from both sides — tfjs in-process and transformers (+ PEFT) in the
// torch worker — and how far apart they are, for the cross-backend tests (parity, methods).
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'vitest'
import { readSafetensors } from '@tunekit/hf'
import { forward, loadForGeneration, selectEngine } from '@tunekit/tfjs'
import { PYTHON_PACKAGE_DIR } from '@tunekit/torch'
import { python, tempDir, type Run } from './helpers.ts'

/** Token ids of one fixed sequence (inside the tiny model's vocabulary, with the added ChatML ids). */
export const IDS = [1, 32000, 1792, 338, 29871, 29945, 2298, 29871, 29955, 29973, 32001, 32000, 4007, 29871]

/** Logits [seq, vocab] from the torch worker (transformers + PEFT), one worker for all cases; `merge`: the adapter folded by PEFT's merge_and_unload. */
export async function torchLogits(cases: Array<{ model: string; adapter?: string; merge?: boolean }>, ids: number[] = IDS): Promise<Float32Array[]> {
  const dir = tempDir('logits')
  const request = join(dir, 'request.json')
  const outs = cases.map((_, i) => join(dir, `logits-${i}.safetensors`))
  writeFileSync(request, JSON.stringify({ cases: cases.map((c, i) => ({ ...c, ids: [ids], out: outs[i], device: 'cpu' })) }))
  const r = spawnSync(python, ['-m', 'tunekit_torch', 'logits', request], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: PYTHON_PACKAGE_DIR, HF_HUB_OFFLINE: '1' } })
  if (r.status !== 0) throw new Error(r.stderr.slice(-3000))
  return Promise.all(outs.map(async (out) => (await readSafetensors(out)).tensors.get('logits')!.data as Float32Array))
}

/** Logits [seq, vocab] from tfjs: a model folder (merged, or base + adapter folder). */
export async function tfjsLogits(model: string, adapter: string | undefined, tokenizerDir: string, ids: number[] = IDS): Promise<Float32Array> {
  await selectEngine('cpu')
  const m = await loadForGeneration(model, adapter, tokenizerDir)
  try {
    const batch = { batch: 1, seq: ids.length, ids: Int32Array.from(ids), positions: Int32Array.from(ids, (_, i) => i), segments: new Int32Array(ids.length) }
    const logits = forward(m.model, m.adapter, batch)
    const data = logits.dataSync() as Float32Array
    logits.dispose()
    return data
  } finally {
    m.dispose()
  }
}

/** max |a - b| relative to the largest |b| (logits are O(1): an absolute bound in practice). */
export function relDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length)
  let diff = 0
  let scale = 0
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!))
    scale = Math.max(scale, Math.abs(b[i]!))
  }
  return diff / Math.max(1, scale)
}

/** Per-step losses a train artifact recorded (trainer_state.json). */
export const losses = (run: Run): number[] => (JSON.parse(readFileSync(join(run.artifact('train'), 'trainer_state.json'), 'utf8')) as { lossHistory: number[] }).lossHistory
