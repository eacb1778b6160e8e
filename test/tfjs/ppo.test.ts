// The ppo stage's loop on tfjs, beyond the loss parity (test/trl/ppo.test.ts): sft-free on a tiny
// random model, rm (2 steps) → ppo (2 rollouts of 2 ppo epochs) through the real graph, the rm
// recipe's graph joined to the ppo one. Each step logs TRL's PPO statistics, the progress line shows
// score and KL, the artifact holds the policy adapter and the value head, and merge merges it; Ctrl-C
// inside a rollout checkpoints it and a rerun resumes to the same losses, adapter and value head.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compile, defineRecipe, describeEvent, extendRecipe, inline, runGraph, TunekitError, artifactDir, type Recipe, type RunEvent } from '@tunekit/core'
import { dataExecutors } from '@tunekit/data'
import { modelExecutor, readSafetensors } from '@tunekit/hf'
import { createTfjsBackend } from '@tunekit/tfjs'
import { tinyTokenizer } from '../data/helpers.ts'
import { tempDir } from '../graph/helpers.ts'

const cacheDir = tempDir('ppo-cache')

async function runRecipe(recipe: Recipe, o: { cache?: string; signal?: AbortSignal; onEvent?: (e: RunEvent) => void } = {}): Promise<{ events: RunEvent[]; dir: (id: string) => string }> {
  const events: RunEvent[] = []
  const cache = o.cache ?? cacheDir
  const graph = await compile(recipe, { baseDir: cache, cacheDir: cache })
  await runGraph(graph, {
    recipe, cacheDir: cache, runDir: tempDir('ppo-run'), baseDir: cache, ...(o.signal ? { signal: o.signal } : {}),
    executors: { ...dataExecutors, model: modelExecutor, ...createTfjsBackend({ device: 'cpu' }).executors }, onEvent: (e) => { events.push(e); o.onEvent?.(e) },
  })
  return { events, dir: (id) => artifactDir(cache, graph.nodes.find((n) => n.id === id)!.key) }
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
  lora, args: { batchSize: 2, maxSteps: 2, learningRate: 1e-2, logEvery: 1, saveEvery: 1 }, backend: 'tfjs', device: 'cpu', output: { merge: true },
})
const stepsOf = (events: readonly RunEvent[]) => events.filter((e): e is Extract<RunEvent, { type: 'step' }> => e.type === 'step' && e.node === 'train')
const lossHistory = (dir: string) => (JSON.parse(readFileSync(join(dir, 'trainer_state.json'), 'utf8')) as { lossHistory: number[] }).lossHistory

describe('the ppo stage on tfjs', () => {
  let reference: Awaited<ReturnType<typeof runRecipe>>

  it("rolls out, scores with the rm recipe's model and steps: TRL's statistics per step, value head and merged model written", async () => {
    const { events, dir } = (reference = await runRecipe(ppo(rm)))
    const steps = stepsOf(events)
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4]) // 2 rollouts × 2 ppo epochs × 1 mini-batch
    expect(events.filter((e) => e.type === 'checkpoint' && e.node === 'train').map((e) => (e as { step: number }).step)).toEqual([1, 2, 3, 4]) // saveEvery 1
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

  it('Ctrl-C inside a rollout checkpoints it, and at a rollout boundary; the reruns resume to the same losses, adapter and value head', async () => {
    const cache = tempDir('ppo-resume')
    const abort = new AbortController()
    const error = await runRecipe(ppo(rm), {
      cache, signal: abort.signal,
      onEvent: (e) => { if (e.type === 'checkpoint' && e.node === 'train' && e.step === 1) abort.abort() }, // step 1: the first rollout's second ppo epoch to go
    }).then(() => undefined, (e: unknown) => e)
    expect((error as { code?: string }).code).toBe('TK404')
    const boundary = new AbortController()
    const again = await runRecipe(ppo(rm), {
      cache, signal: boundary.signal,
      onEvent: (e) => { if (e.type === 'checkpoint' && e.node === 'train' && e.step === 2) boundary.abort() }, // step 2: a rollout boundary, no rollout saved
    }).then(() => undefined, (e: unknown) => e)
    expect((again as { code?: string }).code).toBe('TK404')
    const resumed = await runRecipe(ppo(rm), { cache })
    expect(stepsOf(resumed.events).map((s) => s.step)).toEqual([3, 4]) // resumed twice: inside the first rollout, then at its end
    expect(lossHistory(resumed.dir('train'))).toEqual(lossHistory(reference.dir('train')))
    for (const file of ['adapter_model.safetensors', 'value_head.safetensors']) {
      const a = await readSafetensors(join(reference.dir('train'), file))
      const b = await readSafetensors(join(resumed.dir('train'), file))
      for (const [key, t] of a.tensors) expect(b.tensors.get(key)!.data, key).toEqual(t.data)
    }
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
