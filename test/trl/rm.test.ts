// The rm stage against TRL 1.16's RewardTrainer (test/trl/rm_reference.py in .venv-trl), on a tiny
// random model (hidden 64, 2 layers, the 322-token test tokenizer), cpu, float32. An initial adapter
// in PEFT's SEQ_CLS layout — LoRA matrices with B drawn non-zero, and tunekit's seeded `score` head
// in modules_to_save — is written through @tunekit/hf; TRL loads it with PEFT over
// AutoModelForSequenceClassification and every tunekit run starts from it (`lora.init`), training
// the same 8 pairs, 4 a step, in order, dropout 0. For the plain loss and with
// centerRewardsCoefficient: torch's per-step loss and RewardTrainer's metrics (accuracy, margin,
// min/mean/max reward) equal TRL's within 1e-5, tfjs's equal torch's within 1e-4. Each backend's
// merged folder, loaded by transformers' AutoModelForSequenceClassification.from_pretrained, gives
// the rewards that backend's `rewards` request gives (base + artifact) within 1e-5, and tfjs's
// `rewards` on that merged folder gives them too.
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadTokenizer } from '@tunekit/data'
import { createTfjsBackend } from '@tunekit/tfjs'
import { createTorchBackend } from '@tunekit/torch'
import { python, tempDir, type Run } from '../torch/helpers.ts'
import { deltas as stepDeltas, maxAbs, PARITY, parityInputs, parityRecipe, runBackends, startTrl, valuesOf, type StepValues } from './helpers.ts'

const METRICS = ['accuracy', 'margin', 'min_reward', 'mean_reward', 'max_reward'] as const
const cases = [{}, { centerRewardsCoefficient: 0.01 }] as const
type Case = (typeof cases)[number]
const caseName = (c: Case): string => ('centerRewardsCoefficient' in c ? `centerRewardsCoefficient ${c.centerRewardsCoefficient}` : 'plain')

// the plain case also merges (its folder is what transformers loads)
const recipe = (c: Case, backend: 'tfjs' | 'torch', init: string) => parityRecipe('tiny-rm', { kind: 'rm', ...c }, backend, init, c === cases[0])

const metricsOf = (run: Run): StepValues => valuesOf(run, METRICS)
const deltas = (run: Run, reference: StepValues) => stepDeltas(run, reference, METRICS, PARITY.steps)

let trl: { cases: StepValues[] }
let torchRuns: Run[]
let tfjsRuns: Run[]
/** Per backend: the rewards of the held-out rows by its `rewards` request (base + artifact), by transformers on its merged folder, and by tfjs on that folder. */
const rewards: Record<'torch' | 'tfjs', { tunekit: number[]; transformers: number[]; tfjsMerged: number[] }> = { torch: { tunekit: [], transformers: [], tfjsMerged: [] }, tfjs: { tunekit: [], transformers: [], tfjsMerged: [] } }
// sequences the reward model never trained on, scored after training
const heldOut = ['The opposite of tall is? short', 'The opposite of tall is? tall', 'The opposite of good is? bad']

beforeAll(async () => {
  const cacheDir = tempDir('rm')
  const inputs = await parityInputs(recipe(cases[0], 'torch', 'default'), cacheDir, ['score'])
  const reference = startTrl('rm_reference.py')
  const trlResult = reference.ask<{ cases: StepValues[] }>({
    model: inputs.model, tokenizer: inputs.tokenizer, out: tempDir('rm-trl'), adapter: inputs.adapter, padId: inputs.padId,
    pairs: inputs.pairs.map((p) => ({ chosen: [...p.prompt, ...p.chosen], rejected: [...p.prompt, ...p.rejected] })),
    seed: PARITY.seed, steps: PARITY.steps, batchSize: PARITY.batchSize, learningRate: PARITY.learningRate, cases,
  })
  const runs = await runBackends(cases, (c, backend) => recipe(c, backend, inputs.adapter), cacheDir)
  ;[torchRuns, tfjsRuns, trl] = [runs.torch, runs.tfjs, await trlResult]
  const tok = await loadTokenizer(inputs.tokenizer)
  const rows = heldOut.map((text) => tok.encode(text))
  const backends = { torch: createTorchBackend({ python }), tfjs: createTfjsBackend({ device: 'cpu' }) }
  for (const [name, run] of [['torch', torchRuns[0]!], ['tfjs', tfjsRuns[0]!]] as const) {
    rewards[name].tunekit = await backends[name].rewards!({ model: inputs.model, adapter: run.artifact('train'), sequences: rows, padId: inputs.padId })
    rewards[name].transformers = (await reference.ask<{ rewards: number[] }>({ merged: run.artifact('merge'), rows })).rewards
    // tfjs reads a merged reward model too (its own score.weight, no lm_head)
    rewards[name].tfjsMerged = await backends.tfjs.rewards!({ model: run.artifact('merge'), sequences: rows, padId: inputs.padId })
  }
  reference.close()
}, 600_000)

describe('rm on torch against TRL RewardTrainer', () => {
  it.each(cases.map((c, i) => [caseName(c), i] as const))("%s: per-step loss and metrics equal RewardTrainer's (1e-5)", (_, i) => {
    const d = deltas(torchRuns[i]!, trl.cases[i]!)
    for (const [name, delta] of Object.entries(d)) expect(delta, `${name}: tunekit ${JSON.stringify(metricsOf(torchRuns[i]!))}\nTRL ${JSON.stringify(trl.cases[i])}`).toBeLessThan(1e-5)
  })
})

describe('rm on tfjs against torch', () => {
  it.each(cases.map((c, i) => [caseName(c), i] as const))('%s: per-step loss and metrics agree (1e-4)', (_, i) => {
    const d = deltas(tfjsRuns[i]!, metricsOf(torchRuns[i]!))
    for (const [name, delta] of Object.entries(d)) expect(delta, `${name}: tfjs ${JSON.stringify(metricsOf(tfjsRuns[i]!))}\ntorch ${JSON.stringify(metricsOf(torchRuns[i]!))}`).toBeLessThan(1e-4)
  })
})

describe('the merged reward model in transformers', () => {
  it.each(['torch', 'tfjs'] as const)("%s's merged folder: AutoModelForSequenceClassification's rewards equal the backend's rewards request and tfjs's on the merged folder (1e-5)", (name) => {
    const { tunekit, transformers } = rewards[name]
    expect(tunekit).toHaveLength(heldOut.length)
    expect(maxAbs(tunekit, transformers), JSON.stringify(rewards[name])).toBeLessThan(1e-5)
    expect(maxAbs(rewards[name].tfjsMerged, transformers), JSON.stringify(rewards[name])).toBeLessThan(1e-5)
  })
})
