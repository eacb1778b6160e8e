// tfjs (pure-JS cpu) and torch (cpu) on the same tiny model, shards, batch plan and seeded initial
// adapter, dropout 0, float32: per-step losses and merged logits agree, and each backend's adapter
// gives the other backend's logits.
import { spawnSync } from 'node:child_process'
import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readSafetensors, resolveModelDir } from '@tunekit/hf'
import { createTfjsBackend, forward, loadForGeneration, selectEngine } from '@tunekit/tfjs'
import { createTorchBackend, PYTHON_PACKAGE_DIR } from '@tunekit/torch'
import { python, runRecipe, tempDir, tinyRecipe, type Run } from './helpers.ts'

const STEPS = 10
const recipe = (backend: 'tfjs' | 'torch') =>
  tinyRecipe({ backend, args: { batchSize: 2, maxSteps: STEPS, learningRate: 1e-2, warmupSteps: 2, lrScheduler: 'linear', logEvery: 1, seed: 3, evalEvery: 'never', saveEvery: 5 } })

// Token ids of one fixed sequence (inside the tiny model's vocabulary, with the added ChatML ids).
const IDS = [1, 32000, 1792, 338, 29871, 29945, 2298, 29871, 29955, 29973, 32001, 32000, 4007, 29871]

/** Logits [seq, vocab] from the torch worker (transformers + PEFT), one worker for all cases. */
async function torchLogits(cases: Array<{ model: string; adapter?: string }>): Promise<Float32Array[]> {
  const dir = tempDir('logits')
  const request = join(dir, 'request.json')
  const outs = cases.map((_, i) => join(dir, `logits-${i}.safetensors`))
  writeFileSync(request, JSON.stringify({ cases: cases.map((c, i) => ({ ...c, ids: [IDS], out: outs[i], device: 'cpu' })) }))
  const r = spawnSync(python, ['-m', 'tunekit_torch', 'logits', request], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: PYTHON_PACKAGE_DIR, HF_HUB_OFFLINE: '1' } })
  if (r.status !== 0) throw new Error(r.stderr.slice(-3000))
  return Promise.all(outs.map(async (out) => (await readSafetensors(out)).tensors.get('logits')!.data as Float32Array))
}

/** Logits [seq, vocab] from tfjs: a model folder (merged, or base + adapter folder). */
async function tfjsLogits(model: string, adapter: string | undefined, tokenizerDir: string): Promise<Float32Array> {
  await selectEngine('cpu')
  const m = await loadForGeneration(model, adapter, tokenizerDir)
  try {
    const batch = { batch: 1, seq: IDS.length, ids: Int32Array.from(IDS), positions: Int32Array.from(IDS, (_, i) => i), segments: new Int32Array(IDS.length) }
    const logits = forward(m.model, m.adapter, batch)
    const data = logits.dataSync() as Float32Array
    logits.dispose()
    return data
  } finally {
    m.dispose()
  }
}

/** max |a - b| relative to the largest |b| (logits are O(1): an absolute 1e-4 bound in practice). */
function relDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length)
  let diff = 0
  let scale = 0
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!))
    scale = Math.max(scale, Math.abs(b[i]!))
  }
  return diff / Math.max(1, scale)
}

const losses = (run: Run): number[] => (JSON.parse(readFileSync(join(run.artifact('train'), 'trainer_state.json'), 'utf8')) as { lossHistory: number[] }).lossHistory

describe('tfjs ↔ torch parity (cpu, float32)', { timeout: 600_000 }, () => {
  let tfjs: Run
  let torch: Run

  it('per-step losses agree to 1e-4 relative for 10 steps', async () => {
    // concurrently: the torch run works in its own process while tfjs computes in this one
    ;[tfjs, torch] = await Promise.all([runRecipe(recipe('tfjs'), createTfjsBackend({ device: 'cpu' })), runRecipe(recipe('torch'), createTorchBackend({ python }))])
    const a = losses(tfjs)
    const b = losses(torch)
    expect(a.length).toBe(STEPS)
    expect(b.length).toBe(STEPS)
    const rel = a.map((x, i) => Math.abs(x - b[i]!) / Math.abs(b[i]!))
    expect(Math.max(...rel), `tfjs ${a.join(', ')}\ntorch ${b.join(', ')}`).toBeLessThan(1e-4)
  })

  it("the merged models give the same logits, and each backend's adapter gives the other backend's logits", async () => {
    const base = await resolveModelDir(tfjs.artifact('model'))
    const tokenizer = join(tfjs.artifact('train'), 'tokenizer')
    const [fromTorchMerge, tfjsAdapterInPeft, torchAdapterInPeft] = await torchLogits([
      { model: torch.artifact('merge') },
      { model: base, adapter: tfjs.artifact('train') },
      { model: base, adapter: torch.artifact('train') },
    ])
    expect(relDiff(await tfjsLogits(tfjs.artifact('merge'), undefined, tokenizer), fromTorchMerge!)).toBeLessThan(1e-4)
    // both merged models stop at the training eos (<|im_end|> = 32001), not the base model's </s>
    for (const run of [tfjs, torch]) {
      for (const f of ['config.json', 'generation_config.json']) expect(JSON.parse(readFileSync(join(run.artifact('merge'), f), 'utf8')).eos_token_id).toBe(32001)
    }
    expect(relDiff(await tfjsLogits(base, tfjs.artifact('train'), tokenizer), tfjsAdapterInPeft!)).toBeLessThan(1e-4)
    expect(relDiff(await tfjsLogits(base, torch.artifact('train'), tokenizer), torchAdapterInPeft!)).toBeLessThan(1e-4)
  })

  it('a checkpoint written by tfjs resumes on torch and continues the same run', async () => {
    const ckpt = join(tfjs.work('train'), 'checkpoint-5')
    const resumed = await runRecipe(recipe('torch'), createTorchBackend({ python }), {
      until: 'train',
      beforeRun: async (work) => cpSync(ckpt, join(work('train'), 'checkpoint-5'), { recursive: true }),
    })
    expect(resumed.events.filter((e) => e.type === 'step').map((e) => e.step)).toEqual([6, 7, 8, 9, 10])
    const a = losses(tfjs)
    const b = losses(resumed)
    const rel = a.map((x, i) => Math.abs(x - b[i]!) / Math.abs(a[i]!))
    expect(Math.max(...rel), `tfjs ${a.join(', ')}\ntorch from tfjs step 5: ${b.join(', ')}`).toBeLessThan(1e-4)
  })
})
