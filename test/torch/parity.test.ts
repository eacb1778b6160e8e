// tfjs (pure-JS cpu) and torch (cpu) on the same tiny model, shards, batch plan and seeded initial
// adapter, dropout 0, float32: per-step losses and merged logits agree, and each backend's adapter
// gives the other backend's logits.
import { cpSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { resolveModelDir } from '@tunekit/hf'
import { createTorchBackend } from '@tunekit/torch'
import { python, runRecipe, tinyRecipe, type Run } from './helpers.ts'
import { losses, relDiff, tfjsLogits, torchLogits, trainOnBoth } from './logits.ts'

const STEPS = 10
const recipe = (backend: 'tfjs' | 'torch') =>
  tinyRecipe({ backend, args: { batchSize: 2, maxSteps: STEPS, learningRate: 1e-2, warmupSteps: 2, lrScheduler: 'linear', logEvery: 1, seed: 3, evalEvery: 'never', saveEvery: 5 } })

describe('tfjs ↔ torch parity (cpu, float32)', { timeout: 600_000 }, () => {
  let tfjs: Run
  let torch: Run

  it('per-step losses agree to 1e-4 relative for 10 steps', async () => {
    ;({ tfjs, torch } = await trainOnBoth(recipe, STEPS))
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
