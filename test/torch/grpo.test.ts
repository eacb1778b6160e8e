// The grpo stage on the torch worker (train_grpo.py), through the real pipeline on a tiny random
// model (hidden 64, 2 layers, the 322-token test tokenizer), cpu: the worker samples, asks this
// side for the rewards of the TypeScript reward functions over its stdin, trains, and writes an
// adapter; a reward that throws is the catalog error and the worker is free again (no hang); Ctrl-C
// checkpoints and a rerun resumes to the same losses and adapter.
import { describe, expect, it } from 'vitest'
import { defineRecipe, describeEvent, inline, type GrpoExample, type RunEvent } from '@tunekit/core'
import { readTrainArtifact } from '@tunekit/hf'
import { createTorchBackend } from '@tunekit/torch'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { tinyModel } from '../trl/helpers.ts'
import { python, runRecipe, tempDir } from './helpers.ts'

const words = ['hot', 'up']
const opposites = ['cold', 'down']
const exact = (completion: string, example: GrpoExample) => (completion.trim() === example.answer ? 1 : 0)
const short = async (completion: string) => 1 / (1 + completion.length)
const backend = createTorchBackend({ python })

const recipe = (rewards: ((c: string, e: GrpoExample) => number | Promise<number>)[], name = 'tiny-grpo-torch') => defineRecipe({
  name,
  model: tinyModel,
  stage: { kind: 'grpo', rewards, numGenerations: 4, beta: 0.1, temperature: 0.9, maxCompletionLength: 5, rewardWeights: rewards.map(() => 1) },
  data: { source: inline(words.map((w, i) => ({ messages: [{ role: 'user', content: `The opposite of ${w} is?` }, { role: 'assistant', content: opposites[i]! }] }))), format: 'openai', template: 'alpaca', maxLength: 64 },
  lora: { rank: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj'] },
  args: { batchSize: 4, gradientAccumulationSteps: 2, maxSteps: 2, learningRate: 1e-2, logEvery: 1, saveEvery: 1, seed: 5 },
  backend: 'torch',
  device: 'cpu',
})

const stepsOf = (events: readonly RunEvent[]) => events.filter((e): e is Extract<RunEvent, { type: 'step' }> => e.type === 'step')
const lossHistory = (dir: string) => (JSON.parse(readFileSync(join(dir, 'trainer_state.json'), 'utf8')) as { lossHistory: number[] }).lossHistory

describe('grpo on torch', () => {
  let reference: Awaited<ReturnType<typeof runRecipe>>

  it('samples, asks for the rewards, trains, and logs what tfjs logs (the progress line shows reward and kl)', async () => {
    reference = await runRecipe(recipe([exact, short]), backend, { until: 'train' })
    const steps = stepsOf(reference.events)
    expect(steps.map((s) => s.step)).toEqual([1, 2])
    for (const s of steps) {
      expect(Number.isFinite(s.loss)).toBe(true)
      expect(Object.keys(s.metrics!).sort()).toEqual(['clip_ratio/region_mean', 'completions/clipped_ratio', 'completions/max_length', 'completions/mean_length', 'completions/min_length', 'frac_reward_zero_std', 'kl', 'reward', 'reward_std', 'rewards/exact/mean', 'rewards/exact/std', 'rewards/short/mean', 'rewards/short/std'])
      expect(s.metrics!['completions/max_length']).toBeLessThanOrEqual(5)
      expect(s.metrics!.reward).toBeGreaterThan(0) // short's 1 / (1 + length) is > 0 for every completion
    }
    expect(steps[0]!.metrics!.kl).toBe(0) // the first step's policy is its reference (B = 0)
    expect(steps.at(-1)!.metrics!.kl).toBeGreaterThan(0)
    expect(describeEvent(steps[1]!)).toMatch(/ reward \d+\.\d{3} kl \d/) // the CLI's progress line, as on tfjs
    const samples = reference.events.filter((e) => e.type === 'sample')
    expect(samples.length).toBe(4) // 2 a logged step
    expect(words.map((w) => `The opposite of ${w} is?`)).toContain((samples[0] as { prompt: string }).prompt)
    const adapter = await readTrainArtifact(reference.artifact('train'))
    expect(adapter.tensors.size).toBeGreaterThan(0)
  }, 120_000)

  it('a reward that throws is GrpoRewardThrew naming the function, completion and example, and the run ends (no hang)', async () => {
    const fails = (completion: string) => {
      if (completion.length >= 0) throw new Error('no parser for this')
      return 0
    }
    const error = await runRecipe(recipe([exact, fails], 'tiny-grpo-throws'), backend, { until: 'train' }).then(() => undefined, (e: unknown) => e)
    expect((error as { code?: string }).code).toBe('TK494')
    expect((error as Error).message).toMatch(/TK494 stage\.rewards\[1\] \(fails\) threw "no parser for this" for the completion ".*" of example ".+"/)
    // the worker ended the call instead of waiting for an answer (the run settled); the next test runs on it again
  }, 120_000)

  it('Ctrl-C checkpoints and a rerun resumes to the same losses and adapter', async () => {
    const cacheDir = tempDir('grpo-resume')
    const abort = new AbortController()
    const error = await runRecipe(recipe([exact, short]), backend, {
      cacheDir, until: 'train', signal: abort.signal,
      onEvent: (e) => { if (e.type === 'checkpoint' && e.step === 1) abort.abort() },
    }).then(() => undefined, (e: unknown) => e)
    expect((error as { code?: string }).code).toBe('TK404')
    const resumed = await runRecipe(recipe([exact, short]), backend, { cacheDir, until: 'train' })
    expect(stepsOf(resumed.events).map((s) => s.step)).toEqual([2])
    expect(lossHistory(resumed.artifact('train'))).toEqual(lossHistory(reference.artifact('train')))
    const a = await readTrainArtifact(reference.artifact('train'))
    const b = await readTrainArtifact(resumed.artifact('train'))
    for (const [key, t] of a.tensors) expect(b.tensors.get(key)!.data, key).toEqual(t.data)
  }, 120_000)
})
