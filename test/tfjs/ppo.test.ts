// The ppo stage's loop on tfjs, beyond the loss parity (test/trl/ppo.test.ts): sft-free on a tiny
// random model, rm (2 steps) → ppo (2 rollouts of 2 ppo epochs) through the real graph, the rm
// recipe's graph joined to the ppo one. Each step logs TRL's PPO statistics, the progress line shows
// score and KL, the artifact holds the policy adapter and the value head, and merge merges it.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compile, defineRecipe, describeEvent, extendRecipe, inline, runGraph, TunekitError, artifactDir, type Recipe, type RunEvent } from '@tunekit/core'
import { dataExecutors } from '@tunekit/data'
import { modelExecutor, readSafetensors } from '@tunekit/hf'
import { createTfjsBackend } from '@tunekit/tfjs'
import { tinyTokenizer } from '../data/helpers.ts'
import { tempDir } from '../graph/helpers.ts'

const cacheDir = tempDir('ppo-cache')

async function runRecipe(recipe: Recipe): Promise<{ events: RunEvent[]; dir: (id: string) => string }> {
  const events: RunEvent[] = []
  const graph = await compile(recipe, { baseDir: cacheDir, cacheDir })
  await runGraph(graph, {
    recipe, cacheDir, runDir: tempDir('ppo-run'), baseDir: cacheDir,
    executors: { ...dataExecutors, model: modelExecutor, ...createTfjsBackend({ device: 'cpu' }).executors }, onEvent: (e) => void events.push(e),
  })
  return { events, dir: (id) => artifactDir(cacheDir, graph.nodes.find((n) => n.id === id)!.key) }
}

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
const ppo = (rewardModel: Recipe | string, klCoef = 0.05) => defineRecipe({
  name: 'tiny-ppo', model,
  stage: { kind: 'ppo', rewardModel, numPpoEpochs: 2, responseLength: 4, klCoef, missingEosPenalty: 1 },
  data: { source: inline(words.map((w, i) => ({ messages: [{ role: 'user', content: `Opposite of ${w}?` }, { role: 'assistant', content: opposites[i]! }] }))), format: 'openai', template: 'alpaca', maxLength: 48 },
  lora, args: { batchSize: 2, maxSteps: 2, learningRate: 1e-2, logEvery: 1, saveEvery: 'never' }, backend: 'tfjs', device: 'cpu', output: { merge: true },
})

describe('the ppo stage on tfjs', () => {
  it("rolls out, scores with the rm recipe's model and steps: TRL's statistics per step, value head and merged model written", async () => {
    const { events, dir } = await runRecipe(ppo(rm))
    const steps = events.filter((e): e is Extract<RunEvent, { type: 'step' }> => e.type === 'step' && e.node === 'train')
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4]) // 2 rollouts × 2 ppo epochs × 1 mini-batch
    for (const s of steps) {
      expect(Object.keys(s.metrics!).sort()).toEqual(['completions/clipped_ratio', 'completions/max_length', 'completions/mean_length', 'completions/min_length', 'loss/policy_avg', 'loss/value_avg', 'objective/entropy', 'objective/kl', 'objective/non_score_reward', 'objective/rlhf_reward', 'objective/scores', 'policy/approxkl_avg', 'policy/clipfrac_avg', 'policy/entropy_avg', 'val/clipfrac_avg', 'val/num_eos_tokens', 'val/ratio', 'val/var_explained'])
      expect(s.metrics!['completions/max_length']).toBeLessThanOrEqual(4)
      expect(Number.isFinite(s.loss)).toBe(true)
    }
    expect(steps[0]!.metrics!['objective/kl']).toBeCloseTo(0, 5) // the policy starts as its reference
    expect(steps[0]!.metrics!['val/ratio']).toBeCloseTo(1, 5) // the first epoch's ratio to the sampling policy
    expect(steps[1]!.metrics!['objective/scores']).toBe(steps[0]!.metrics!['objective/scores']) // one rollout, two epochs
    expect(describeEvent(steps[1]!)).toMatch(/ score -?\d+\.\d{3} kl -?\d/)
    const train = dir('train')
    const head = await readSafetensors(join(train, 'value_head.safetensors'))
    expect([...head.tensors.keys()]).toEqual(['v_head.summary.weight'])
    expect(head.tensors.get('v_head.summary.weight')!.shape).toEqual([1, 32])
    const adapter = await readSafetensors(join(train, 'adapter_model.safetensors'))
    expect([...adapter.tensors.keys()].every((k) => k.includes('lora_'))).toBe(true) // the policy adapter alone, PEFT's layout
    expect(existsSync(join(dir('merge'), 'config.json'))).toBe(true)
  }, 120_000)

  it('a reward model that is not an rm recipe is TK501, one on another base TK502, a folder without an rm artifact TK500; a rollout of one TK503', async () => {
    const notRm = defineRecipe({ ...rm, name: 'tiny-sft', stage: { kind: 'sft' } } as Parameters<typeof defineRecipe>[0])
    expect(() => ppo(notRm as Recipe)).toThrow(/TK501/)
    const elsewhere = extendRecipe(rm, { name: 'tiny-rm-elsewhere', model: { id: 'tunekit/other-tiny' } })
    expect(() => ppo(elsewhere)).toThrow(/TK502 the reward model "tiny-rm-elsewhere" trains on model tunekit\/other-tiny and this recipe's policy on model tunekit\/tiny-mistral/)
    expect(() => extendRecipe(ppo(rm), { args: { batchSize: 1 } })).toThrow(/TK503/)
    await expect(compile(ppo('no-such-folder'), { baseDir: cacheDir, cacheDir })).rejects.toThrow(TunekitError)
    await expect(compile(ppo('no-such-folder'), { baseDir: cacheDir, cacheDir })).rejects.toThrow(/TK500/)
  })
})
