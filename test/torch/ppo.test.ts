// The ppo stage's loop in the torch worker (the loss parity with TRL is test/trl/ppo.test.ts): a tiny rm
// recipe (trained on tfjs: its artifact is the same either way) → ppo on torch, 2 rollouts of 2 ppo
// epochs through the real graph. Each step event carries TRL's statistics, each rollout a sample, and
// the train artifact holds the policy adapter (PEFT's layout) and the value head; Ctrl-C checkpoints
// and a rerun resumes to the same losses, adapter and value head, as does a kill inside a rollout.
import { cpSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { defineRecipe, inline, type RunEvent } from '@tunekit/core'
import { readSafetensors, readTrainArtifact } from '@tunekit/hf'
import { createTfjsBackend } from '@tunekit/tfjs'
import { createTorchBackend } from '@tunekit/torch'
import { tinyTokenizer } from '../data/helpers.ts'
import { python, runRecipe, tempDir } from './helpers.ts'

const model = {
  id: 'tunekit/tiny-mistral', family: 'mistral', dtype: 'float32',
  random: { seed: 1, tokenizer: tinyTokenizer, config: { vocab_size: 320, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 128 } },
} as const
const words = ['hot', 'up', 'big', 'wet']
const opposites = ['cold', 'down', 'small', 'dry']
const lora = { rank: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj'] } as const
const rm = defineRecipe({
  name: 'tiny-rm', model, stage: { kind: 'rm' },
  data: { source: inline(words.map((w, i) => ({ prompt: `Opposite of ${w}?`, chosen: opposites[i]!, rejected: w }))), format: 'openai', template: 'alpaca', maxLength: 96, split: { eval: 0 } },
  lora, args: { batchSize: 2, maxSteps: 2, learningRate: 1e-2, logEvery: 1, saveEvery: 'never' }, backend: 'tfjs', device: 'cpu', output: { merge: false },
})
const ppo = (rewardModel: string) => defineRecipe({
  name: 'tiny-ppo', model,
  stage: { kind: 'ppo', rewardModel, numPpoEpochs: 2, responseLength: 4, missingEosPenalty: 1 },
  data: { source: inline(words.map((w, i) => ({ messages: [{ role: 'user', content: `Opposite of ${w}?` }, { role: 'assistant', content: opposites[i]! }] }))), format: 'openai', template: 'alpaca', maxLength: 48 },
  lora, args: { batchSize: 2, maxSteps: 2, learningRate: 1e-2, logEvery: 1, saveEvery: 1 }, backend: 'torch', device: 'cpu', output: { merge: false },
})
const torch = createTorchBackend({ python })
const stepsOf = (events: readonly RunEvent[]) => events.filter((e): e is Extract<RunEvent, { type: 'step' }> => e.type === 'step' && e.node === 'train')
const lossHistory = (dir: string) => (JSON.parse(readFileSync(join(dir, 'trainer_state.json'), 'utf8')) as { lossHistory: number[] }).lossHistory

describe('the ppo stage in the torch worker', () => {
  let rmDir: string
  let reference: Awaited<ReturnType<typeof runRecipe>>

  it("rolls out, scores with an rm artifact folder in-process and steps: TRL's statistics per step, adapter and value head written", async () => {
    const cacheDir = tempDir('ppo')
    const rmRun = await runRecipe(rm, createTfjsBackend({ device: 'cpu' }), { cacheDir })
    // the reward model as a folder (an rm train artifact over the same base; the recipe form is test/tfjs/ppo.test.ts's)
    rmDir = rmRun.artifact('train')
    const run = (reference = await runRecipe(ppo(rmDir), torch, { cacheDir }))
    const steps = stepsOf(run.events)
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4]) // 2 rollouts × 2 ppo epochs
    expect(run.events.filter((e) => e.type === 'checkpoint').map((e) => (e as { step: number }).step)).toEqual([1, 2, 3]) // saveEvery 1 (the end writes the artifact instead)
    const samples = run.events.filter((e): e is Extract<RunEvent, { type: 'sample' }> => e.type === 'sample' && e.node === 'train')
    expect(samples.length).toBe(2) // one a rollout, as tfjs emits them
    expect(words.map((w) => `Opposite of ${w}?`)).toContain(samples[0]!.prompt)
    for (const s of steps) {
      expect(Object.keys(s.metrics!)).toEqual(expect.arrayContaining(['objective/scores', 'objective/kl', 'loss/policy_avg', 'loss/value_avg', 'policy/clipfrac_avg', 'val/clipfrac_avg', 'val/var_explained', 'policy/entropy_avg', 'completions/mean_length']))
      expect(Number.isFinite(s.loss)).toBe(true)
    }
    expect(Math.abs(steps[0]!.metrics!['objective/kl']!)).toBeLessThan(1e-5) // the policy starts as its reference
    const train = run.artifact('train')
    const head = await readSafetensors(join(train, 'value_head.safetensors'))
    expect(head.tensors.get('v_head.summary.weight')!.shape).toEqual([1, 32])
    const adapter = await readSafetensors(join(train, 'adapter_model.safetensors'))
    expect([...adapter.tensors.keys()].every((k) => k.includes('lora_'))).toBe(true) // the policy adapter alone, PEFT's layout
  }, 240_000)

  it('Ctrl-C checkpoints and a rerun resumes to the same losses, adapter and value head', async () => {
    const cacheDir = tempDir('ppo-resume')
    const abort = new AbortController()
    const error = await runRecipe(ppo(rmDir), torch, {
      cacheDir, until: 'train', signal: abort.signal,
      onEvent: (e) => { if (e.type === 'checkpoint' && e.step === 1) abort.abort() }, // step 1 is inside the first rollout
    }).then(() => undefined, (e: unknown) => e)
    expect((error as { code?: string }).code).toBe('TK404')
    const resumed = await runRecipe(ppo(rmDir), torch, { cacheDir, until: 'train' })
    const first = stepsOf(resumed.events)[0]!.step
    expect(first).toBeGreaterThan(1) // resumed, not restarted (where the signal lands is the machine's timing)
    expect(first).toBeLessThan(5)
    await expectSameRun(resumed)
  }, 240_000)

  it("a kill inside a rollout: the reference's checkpoint-3 (rollout 2, its second ppo epoch to go) resumes to the same step 4", async () => {
    const resumed = await runRecipe(ppo(rmDir), torch, {
      cacheDir: tempDir('ppo-kill'), until: 'train',
      beforeRun: async (work) => cpSync(join(reference.work('train'), 'checkpoint-3'), join(work('train'), 'checkpoint-3'), { recursive: true }),
    })
    expect(stepsOf(resumed.events).map((s) => s.step)).toEqual([4])
    await expectSameRun(resumed)
  }, 240_000)

  async function expectSameRun(resumed: Awaited<ReturnType<typeof runRecipe>>): Promise<void> {
    expect(lossHistory(resumed.artifact('train'))).toEqual(lossHistory(reference.artifact('train')))
    const a = await readTrainArtifact(reference.artifact('train'))
    const b = await readTrainArtifact(resumed.artifact('train'))
    for (const [key, t] of a.tensors) expect(b.tensors.get(key)!.data, key).toEqual(t.data)
    const headOf = async (dir: string) => (await readSafetensors(join(dir, 'value_head.safetensors'))).tensors.get('v_head.summary.weight')!.data
    expect(await headOf(resumed.artifact('train'))).toEqual(await headOf(reference.artifact('train')))
  }
})
