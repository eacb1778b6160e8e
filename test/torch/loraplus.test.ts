// LoRA+ (lora.loraplusLrRatio) on tfjs and torch: the torch worker builds its optimizer with PEFT's
// own create_loraplus_optimizer (B matrices and 1-D tensors at ratio × the rate, A and the trained
// token rows at the rate, weight decay as PEFT groups it); tfjs forms the same groups. Same tiny
// model, shards, batch plan and seeded initial adapter, dropout 0, float32: per-step losses agree,
// and differ from plain LoRA's after the first update.
import { describe, expect, it } from 'vitest'
import { createTfjsBackend } from '@tunekit/tfjs'
import { createTorchBackend } from '@tunekit/torch'
import { python, runRecipe, tinyRecipe } from './helpers.ts'
import { losses, maxRel } from './logits.ts'

const STEPS = 8
const recipe = (backend: 'tfjs' | 'torch', loraplusLrRatio?: number) =>
  tinyRecipe({
    backend,
    lora: { rank: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj'], trainableTokens: true, ...(loraplusLrRatio !== undefined ? { loraplusLrRatio } : {}) },
    args: { batchSize: 2, maxSteps: STEPS, learningRate: 2e-3, weightDecay: 0.05, warmupSteps: 2, lrScheduler: 'linear', logEvery: 1, seed: 3, evalEvery: 'never', saveEvery: 'never' },
    output: { merge: false },
  })

describe('LoRA+ on tfjs and torch (cpu, float32)', () => {
  it("per-step losses agree to 1e-4 relative (torch through PEFT's create_loraplus_optimizer), and differ from plain LoRA's", { timeout: 600_000 }, async () => {
    const logs: string[] = []
    const [tfjs, torch, plain] = await Promise.all([
      runRecipe(recipe('tfjs', 16), createTfjsBackend({ device: 'cpu' })),
      runRecipe(recipe('torch', 16), createTorchBackend({ python }), { onEvent: (e) => void (e.type === 'log' && logs.push(e.message)) }),
      runRecipe(recipe('tfjs'), createTfjsBackend({ device: 'cpu' })),
    ])
    expect(logs.some((m) => m.includes('peft.optimizers.create_loraplus_optimizer'))).toBe(true)
    const [a, b, c] = [losses(tfjs), losses(torch), losses(plain)]
    expect([a.length, b.length]).toEqual([STEPS, STEPS])
    const rel = maxRel(a, b)
    console.log(`LoRA+ (ratio 16) losses, max relative difference tfjs vs torch over ${STEPS} steps: ${rel.toExponential(2)}; vs plain LoRA ${maxRel(a, c).toExponential(2)}`)
    expect(rel, `tfjs ${a.join(', ')}\ntorch ${b.join(', ')}`).toBeLessThan(1e-4)
    expect(a[0]).toBe(c[0]) // the same start
    expect(maxRel(a.slice(1), c.slice(1))).toBeGreaterThan(1e-3) // B moved 16× faster
  })
})
