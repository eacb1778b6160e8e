// The ppo stage's loop in the torch worker (the loss parity with TRL is test/trl/ppo.test.ts): a tiny rm
// recipe (trained on tfjs: its artifact is the same either way) → ppo on torch, 1 rollout of 2 ppo
// epochs through the real graph. Each step event carries TRL's statistics, and the train artifact holds
// the policy adapter (PEFT's layout) and the value head.
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { defineRecipe, inline, type RunEvent } from '@tunekit/core'
import { readSafetensors } from '@tunekit/hf'
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
  lora, args: { batchSize: 2, maxSteps: 1, learningRate: 1e-2, logEvery: 1, saveEvery: 'never' }, backend: 'torch', device: 'cpu', output: { merge: false },
})

describe('the ppo stage in the torch worker', () => {
  it("rolls out, scores with an rm artifact folder in-process and steps: TRL's statistics per step, adapter and value head written", async () => {
    const cacheDir = tempDir('ppo')
    const rmRun = await runRecipe(rm, createTfjsBackend({ device: 'cpu' }), { cacheDir })
    // the reward model as a folder (an rm train artifact over the same base; the recipe form is test/tfjs/ppo.test.ts's)
    const run = await runRecipe(ppo(rmRun.artifact('train')), createTorchBackend({ python }), { cacheDir })
    const steps = run.events.filter((e): e is Extract<RunEvent, { type: 'step' }> => e.type === 'step' && e.node === 'train')
    expect(steps.map((s) => s.step)).toEqual([1, 2]) // 1 rollout × 2 ppo epochs
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
})
