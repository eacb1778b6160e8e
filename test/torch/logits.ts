// Logits of one fixed sequence from both sides — tfjs in-process and transformers (+ PEFT) in the
// torch worker — and how far apart they are, for the cross-backend tests (parity, methods).
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'vitest'
import type { Recipe, RunEvent } from '@tunekit/core'
import { readSafetensors, resolveModelDir } from '@tunekit/hf'
import { createTfjsBackend, forward, loadForGeneration, selectEngine } from '@tunekit/tfjs'
import { createTorchBackend, PYTHON_PACKAGE_DIR } from '@tunekit/torch'
import { python, runRecipe, tempDir, type Run } from './helpers.ts'

/** Token ids of one fixed sequence (inside the tiny model's vocabulary, with the added ChatML ids). */
export const IDS = [1, 32000, 1792, 338, 29871, 29945, 2298, 29871, 29955, 29973, 32001, 32000, 4007, 29871]
/** One fixed sequence inside the test tokenizer's 320 ids (tinyTokenizer), with the ChatML ids (320, 321) it gains. */
export const TINY_IDS = [1, 320, 57, 112, 9, 201, 33, 321, 320, 150, 77, 4]

/** Logits [seq, vocab] from the torch worker (transformers + PEFT), one worker for all cases; `merge`: the adapter folded by PEFT's merge_and_unload; a case's `ids` in place of the common ones. */
export async function torchLogits(cases: Array<{ model: string; adapter?: string; merge?: boolean; ids?: number[] }>, ids: number[] = IDS): Promise<Float32Array[]> {
  const dir = tempDir('logits')
  const request = join(dir, 'request.json')
  const outs = cases.map((_, i) => join(dir, `logits-${i}.safetensors`))
  writeFileSync(request, JSON.stringify({ cases: cases.map((c, i) => ({ ...c, ids: [c.ids ?? ids], out: outs[i], device: 'cpu' })) }))
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

/** The largest relative difference of two loss curves, element by element. */
export const maxRel = (a: number[], b: number[]): number => Math.max(...a.map((x, i) => Math.abs(x - b[i]!) / Math.abs(b[i]!)))

/**
 * One recipe trained on tfjs (cpu) and on torch at once (the torch run works in its own process
 * while tfjs computes in this one), asserting `steps` losses each that agree to 1e-4 relative;
 * `label` prints the largest difference.
 */
export async function trainOnBoth(recipe: (backend: 'tfjs' | 'torch') => Recipe, steps: number, label?: string): Promise<{ tfjs: Run; torch: Run; losses: [number[], number[]] }> {
  const [tfjs, torch] = await Promise.all([runRecipe(recipe('tfjs'), createTfjsBackend({ device: 'cpu' })), runRecipe(recipe('torch'), createTorchBackend({ python }))])
  const [a, b] = [losses(tfjs), losses(torch)]
  expect([a.length, b.length]).toEqual([steps, steps])
  const rel = maxRel(a, b)
  if (label) console.log(`${label} losses, max relative difference tfjs vs torch over ${steps} steps: ${rel.toExponential(2)}`)
  expect(rel, `tfjs ${a.join(', ')}\ntorch ${b.join(', ')}`).toBeLessThan(1e-4)
  return { tfjs, torch, losses: [a, b] }
}

/** The number a run's first log line matching `pattern` carries in its first group (thousands separators dropped). */
export function logged(events: RunEvent[], pattern: RegExp): number {
  const line = events.find((e) => e.type === 'log' && pattern.test(e.message))
  return Number((line as { message: string }).message.match(pattern)![1]!.replace(/,/g, ''))
}

/**
 * A mergeable method's cross-checks after a tfjs and a torch run of one recipe: each backend's
 * adapter in PEFT against tfjs's logits of it, the tfjs merge (in transformers and in tfjs) and
 * PEFT's merge_and_unload (as the torch merge node runs it) against their adapters; and the two
 * adapters' PEFT logits, for how alike the backends trained.
 */
export async function adapterAndMergeFigures(tfjs: Run, torch: Run, ids: number[], extra: Array<{ model: string; adapter?: string; merge?: boolean }> = []): Promise<{ figures: Record<string, number>; backends: number; extra: Float32Array[] }> {
  const base = await resolveModelDir(tfjs.artifact('model'))
  const tokenizer = join(tfjs.artifact('train'), 'tokenizer')
  // `extra`: the caller's own cases in the same worker (one Python start less), their logits returned
  const [tfjsInPeft, torchInPeft, tfjsMerged, peftMerged, ...extraLogits] = await torchLogits([
    { model: base, adapter: tfjs.artifact('train') },
    { model: base, adapter: torch.artifact('train') },
    { model: tfjs.artifact('merge') },
    { model: base, adapter: torch.artifact('train'), merge: true },
    ...extra,
  ], ids)
  const tfjsAdapter = await tfjsLogits(base, tfjs.artifact('train'), tokenizer, ids)
  const figures = {
    'tfjs adapter: tfjs vs PEFT': relDiff(tfjsAdapter, tfjsInPeft!),
    'torch adapter: tfjs vs PEFT': relDiff(await tfjsLogits(base, torch.artifact('train'), tokenizer, ids), torchInPeft!),
    'tfjs merge (transformers) vs its adapter (PEFT)': relDiff(tfjsMerged!, tfjsInPeft!),
    'tfjs merge (tfjs) vs its adapter (tfjs)': relDiff(await tfjsLogits(tfjs.artifact('merge'), undefined, tokenizer, ids), tfjsAdapter),
    'PEFT merge_and_unload vs its adapter (PEFT)': relDiff(peftMerged!, torchInPeft!),
  }
  return { figures, backends: relDiff(tfjsInPeft!, torchInPeft!), extra: extraLogits }
}
