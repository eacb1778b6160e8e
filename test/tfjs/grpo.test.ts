// The grpo stage's loop on tfjs, beyond the loss parity (test/trl/grpo.test.ts): two steps through the
// real graph on a tiny model: each step samples, scores with the recipe's reward and logs TRL's
// metrics (and two sample completions); a reward that throws is a catalog error with the completion;
// a changed reward re-runs train only.
import { describe, expect, it } from 'vitest'
import { compile, defineRecipe, describeEvent, inline, runGraph, TunekitError, type GrpoExample, type Recipe, type RunEvent } from '@tunekit/core'
import { dataExecutors } from '@tunekit/data'
import { modelExecutor } from '@tunekit/hf'
import { createTfjsBackend } from '@tunekit/tfjs'
import { tinyTokenizer } from '../data/helpers.ts'
import { tempDir } from '../graph/helpers.ts'

const cacheDir = tempDir('grpo-cache')

/** Runs a recipe on tfjs through the real graph (one cache for the file); returns its events. */
async function runRecipe(recipe: Recipe): Promise<RunEvent[]> {
  const events: RunEvent[] = []
  const graph = await compile(recipe, { baseDir: cacheDir, cacheDir })
  await runGraph(graph, {
    recipe, cacheDir, runDir: tempDir('grpo-run'), baseDir: cacheDir,
    executors: { ...dataExecutors, model: modelExecutor, ...createTfjsBackend({ device: 'cpu' }).executors }, onEvent: (e) => void events.push(e),
  })
  return events
}

const model = {
  id: 'tunekit/tiny-mistral', family: 'mistral', dtype: 'float32',
  random: { seed: 1, tokenizer: tinyTokenizer, config: { vocab_size: 320, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 128 } },
} as const
const records = ['hot', 'up'].map((w, i) => ({ messages: [{ role: 'user', content: `Opposite of ${w}?` }, { role: 'assistant', content: ['cold', 'down'][i]! }] }))
const grpo = (reward: (completion: string, example: GrpoExample) => number) =>
  defineRecipe({
    name: 'tiny-grpo', model,
    stage: { kind: 'grpo', rewards: [reward], numGenerations: 2, beta: 0.1, maxCompletionLength: 4 },
    data: { source: inline(records), format: 'openai', template: 'alpaca', maxLength: 48 },
    lora: { rank: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj'] },
    args: { batchSize: 4, maxSteps: 2, learningRate: 1e-2, logEvery: 1, saveEvery: 'never' },
    backend: 'tfjs', device: 'cpu', output: { merge: false },
  })

describe('the grpo stage on tfjs', () => {
  it("samples, scores and steps: TRL's metrics on every step event, the progress line shows reward and kl", async () => {
    const events = await runRecipe(grpo((completion) => completion.length))
    const steps = events.filter((e): e is Extract<RunEvent, { type: 'step' }> => e.type === 'step')
    expect(steps.map((s) => s.step)).toEqual([1, 2])
    for (const s of steps) {
      expect(Object.keys(s.metrics!).sort()).toEqual(['clip_ratio/region_mean', 'completions/clipped_ratio', 'completions/max_length', 'completions/mean_length', 'completions/min_length', 'frac_reward_zero_std', 'kl', 'reward', 'reward_std', 'rewards/0/mean', 'rewards/0/std'])
      expect(s.metrics!['completions/max_length']).toBeLessThanOrEqual(4)
      expect(Number.isFinite(s.loss)).toBe(true)
    }
    expect(steps[0]!.metrics!.kl).toBe(0) // the policy starts as its reference
    expect(describeEvent(steps[1]!)).toMatch(/ reward \d+\.\d{3} kl \d/)
    expect(events.filter((e) => e.type === 'sample' && e.node === 'train')).toHaveLength(4) // two a logged step
  })

  it('a reward that throws stops the run with TK494 and the completion; another reward re-runs train alone', async () => {
    const failed = runRecipe(grpo(() => { throw new Error('no answer here') }))
    await expect(failed).rejects.toThrow(TunekitError)
    await expect(failed).rejects.toThrow(/TK494|threw "no answer here"/)
    const events = await runRecipe(grpo((completion) => (completion.includes('o') ? 1 : 0)))
    const status = Object.fromEntries(events.flatMap((e) => (e.type === 'node-cached' ? [[e.node, 'cached']] : e.type === 'node-start' ? [[e.node, 'ran']] : [])))
    expect(status).toMatchObject({ source: 'cached', format: 'cached', tokenize: 'cached', train: 'ran' })
  })
})
