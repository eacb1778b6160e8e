// The dpo stage against TRL 1.16's DPOTrainer (test/trl/dpo_reference.py in .venv-trl), on a tiny
// random model (hidden 64, 2 layers, the 322-token test tokenizer), cpu, float32. An initial LoRA
// adapter with B drawn non-zero (so the policy starts away from the base) is written through
// @tunekit/hf in PEFT's layout; TRL loads it with PEFT and every tunekit run starts from it (`lora.init`) and trains the same 8 pairs, 4 a step, in order, dropout 0, float32 (TRL's bf16 and gradient checkpointing defaults off). For each
// loss type (sigmoid, ipo, hinge, robust with label smoothing 0.1): torch's per-step loss and
// reward metrics equal TRL's within 1e-5, tfjs's equal torch's within 1e-4; the reference
// log-probabilities equal TRL's precomputed ones; and the runs that differ only in the stage's
// options (beta, loss) share one ref-logprobs artifact: it is computed once and train re-runs.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { RefLogprobs } from '@tunekit/core'
import { tempDir, type Run } from '../torch/helpers.ts'
import { deltas as deltasOver, maxAbs, PARITY, parityInputs, parityRecipe, runBackends, runTrl, valuesOf, type StepValues } from './helpers.ts'

const STEPS = PARITY.steps
const METRICS = ['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected'] as const
const cases = [
  { lossType: 'sigmoid', beta: 0.1, labelSmoothing: 0 },
  { lossType: 'ipo', beta: 0.5, labelSmoothing: 0 },
  { lossType: 'hinge', beta: 0.3, labelSmoothing: 0 },
  { lossType: 'robust', beta: 0.1, labelSmoothing: 0.1 },
] as const
type Case = (typeof cases)[number]

const recipe = (c: Case, backend: 'tfjs' | 'torch', init: string) => parityRecipe(`tiny-dpo-${c.lossType}`, { kind: 'dpo', ...c }, backend, init)

interface Trl {
  ref: { chosen: number[]; rejected: number[] }
  cases: StepValues[]
}

/** max |Δ| over the per-step loss and each reward metric. */
const deltas = (run: Run, reference: StepValues) => deltasOver(run, reference, METRICS, STEPS)
const metricsOf = (run: Run) => valuesOf(run, METRICS)

let trl: Trl
let torchRuns: Run[]
let tfjsRuns: Run[]

beforeAll(async () => {
  const cacheDir = tempDir('dpo')
  const inputs = await parityInputs(recipe(cases[0], 'torch', 'default'), cacheDir)
  const trlResult = runTrl<Trl>('dpo_reference.py', { ...inputs, ...PARITY, out: tempDir('dpo-trl'), cases })
  // one cache for all runs: the torch runs share one ref-logprobs key, and so do the tfjs ones
  const runs = await runBackends(cases, (c, backend) => recipe(c, backend, inputs.adapter), cacheDir)
  ;[trl, torchRuns, tfjsRuns] = [await trlResult, runs.torch, runs.tfjs]
}, 600_000)

describe('dpo on torch against TRL DPOTrainer', () => {
  it("ref-logprobs: the base with the initial adapter, TRL's precomputed reference (1e-5)", async () => {
    const ref = JSON.parse(await readFile(join(torchRuns[0]!.artifact('ref-logprobs'), 'ref-logprobs.json'), 'utf8')) as RefLogprobs
    expect(maxAbs(ref.chosen, trl.ref.chosen)).toBeLessThan(1e-5)
    expect(maxAbs(ref.rejected, trl.ref.rejected)).toBeLessThan(1e-5)
  })

  it.each(cases.map((c, i) => [c.lossType, i] as const))("%s: per-step loss and reward metrics equal DPOTrainer's (1e-5)", (_, i) => {
    const d = deltas(torchRuns[i]!, trl.cases[i]!)
    for (const [name, delta] of Object.entries(d)) expect(delta, `${name}: tunekit ${JSON.stringify(metricsOf(torchRuns[i]!))}\nTRL ${JSON.stringify(trl.cases[i])}`).toBeLessThan(1e-5)
  })

  it('changing beta or the loss re-runs train only: ref-logprobs is computed once for the four runs', () => {
    const status = (run: Run, id: string) => run.result.nodes.find((n) => n.id === id)?.status
    expect(torchRuns.map((r) => status(r, 'ref-logprobs')).sort()).toEqual(['cached', 'cached', 'cached', 'ran'])
    expect(torchRuns.map((r) => status(r, 'train'))).toEqual(['ran', 'ran', 'ran', 'ran'])
  })
})

describe('dpo on tfjs against torch', () => {
  it.each(cases.map((c, i) => [c.lossType, i] as const))('%s: per-step loss and reward metrics agree (1e-4)', (_, i) => {
    const d = deltas(tfjsRuns[i]!, metricsOf(torchRuns[i]!))
    for (const [name, delta] of Object.entries(d)) expect(delta, `${name}: tfjs ${JSON.stringify(metricsOf(tfjsRuns[i]!))}\ntorch ${JSON.stringify(metricsOf(torchRuns[i]!))}`).toBeLessThan(1e-4)
  })

  it('ref-logprobs is computed once for the four tfjs runs too', () => {
    expect(tfjsRuns.map((r) => r.result.nodes.find((n) => n.id === 'ref-logprobs')?.status)).toEqual(['ran', 'cached', 'cached', 'cached'])
  })
})
