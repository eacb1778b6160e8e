// The orpo and simpo stages against TRL 1.16's ORPOTrainer and CPOTrainer with loss_type 'simpo'
// (test/trl/orpo_reference.py in .venv-trl), on the tiny random model of dpo.test.ts (hidden 64,
// 2 layers, the 322-token test tokenizer), cpu, float32. Every run starts from one initial LoRA
// adapter (B drawn non-zero) written through @tunekit/hf in PEFT's layout, and trains the same 8
// pairs, 4 a step, in order, dropout 0. Cases: ORPO (λ 0.2), SimPO as its paper runs it
// (cpoAlpha 0) and CPO-SimPO with label smoothing. torch's per-step loss and TRL's logged metrics
// equal TRL's within 1e-5, tfjs's equal torch's within 1e-4, and neither stage has a ref-logprobs node.
import { beforeAll, describe, expect, it } from 'vitest'
import { tempDir, type Run } from '../torch/helpers.ts'
import { deltas, PARITY, parityInputs, parityRecipe, runBackends, runTrl, stepsOf, valuesOf, type StepValues } from './helpers.ts'

const STEPS = PARITY.steps
const REWARDS = ['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected'] as const
const cases = [
  { stage: { kind: 'orpo', beta: 0.2 }, metrics: [...REWARDS, 'nll_loss', 'log_odds_ratio', 'log_odds_chosen'] },
  { stage: { kind: 'simpo', beta: 2, simpoGamma: 0.5, cpoAlpha: 0, labelSmoothing: 0 }, metrics: REWARDS },
  { stage: { kind: 'simpo', beta: 0.5, simpoGamma: 0.3, cpoAlpha: 1, labelSmoothing: 0.1 }, metrics: [...REWARDS, 'nll_loss'] },
] as const
type Case = (typeof cases)[number]
const names = cases.map((c) => (c.stage.kind === 'orpo' ? 'orpo' : c.stage.cpoAlpha === 0 ? 'simpo' : 'cpo-simpo'))

const recipe = (c: Case, backend: 'tfjs' | 'torch', init: string) => parityRecipe(`tiny-${c.stage.kind}`, c.stage, backend, init)

let trl: { cases: StepValues[] }
let torchRuns: Run[]
let tfjsRuns: Run[]

beforeAll(async () => {
  const cacheDir = tempDir('orpo')
  const inputs = await parityInputs(recipe(cases[0], 'torch', 'default'), cacheDir)
  const trlResult = runTrl<typeof trl>('orpo_reference.py', { ...inputs, ...PARITY, out: tempDir('orpo-trl'), cases: cases.map((c) => c.stage) })
  const runs = await runBackends(cases, (c, backend) => recipe(c, backend, inputs.adapter), cacheDir)
  ;[trl, torchRuns, tfjsRuns] = [await trlResult, runs.torch, runs.tfjs]
}, 600_000)

describe('orpo and simpo on torch against TRL ORPOTrainer and CPOTrainer (simpo)', () => {
  it.each(cases.map((c, i) => [names[i], i] as const))("%s: per-step loss and TRL's logged metrics equal TRL's (1e-5)", (_, i) => {
    const d = deltas(torchRuns[i]!, trl.cases[i]!, cases[i]!.metrics, STEPS)
    for (const [name, delta] of Object.entries(d)) expect(delta, `${name}: tunekit ${JSON.stringify(valuesOf(torchRuns[i]!, cases[i]!.metrics))}\nTRL ${JSON.stringify(trl.cases[i])}`).toBeLessThan(1e-5)
  })

  it("pure SimPO (cpoAlpha 0) logs no nll_loss on either backend: TRL's is a placeholder 0", () => {
    expect(trl.cases[1]!.metrics.nll_loss).toEqual([0, 0, 0])
    for (const run of [torchRuns[1]!, tfjsRuns[1]!]) expect(stepsOf(run).map((s) => Object.keys(s.metrics ?? {}).includes('nll_loss'))).toEqual([false, false, false])
  })

  it('no reference model: the graph has no ref-logprobs node, train reads model and tokenize', () => {
    for (const run of [...torchRuns, ...tfjsRuns]) expect(run.result.nodes.map((n) => n.id)).toEqual(['model', 'source', 'format', 'tokenize', 'train'])
  })
})

describe('orpo and simpo on tfjs against torch', () => {
  it.each(cases.map((c, i) => [names[i], i] as const))('%s: per-step loss and metrics agree (1e-4)', (_, i) => {
    const d = deltas(tfjsRuns[i]!, valuesOf(torchRuns[i]!, cases[i]!.metrics), cases[i]!.metrics, STEPS)
    for (const [name, delta] of Object.entries(d)) expect(delta, `${name}: tfjs ${JSON.stringify(valuesOf(tfjsRuns[i]!, cases[i]!.metrics))}\ntorch ${JSON.stringify(valuesOf(torchRuns[i]!, cases[i]!.metrics))}`).toBeLessThan(1e-4)
  })
})
