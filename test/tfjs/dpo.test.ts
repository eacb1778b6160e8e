// The dpo stage on tfjs, beyond the TRL parity (test/trl/dpo.test.ts): data without pairs is a
// catalog error before any model loads, and the step event carries TRL's metrics to the progress line.
import { describe, expect, it } from 'vitest'
import { compile, defineRecipe, describeEvent, inline, runGraph, type Recipe, type RunEvent } from '@tunekit/core'
import { dataExecutors } from '@tunekit/data'
import { modelExecutor } from '@tunekit/hf'
import { createTfjsBackend } from '@tunekit/tfjs'
import { tinyTokenizer } from '../data/helpers.ts'
import { tempDir } from '../graph/helpers.ts'

/** Runs a recipe on tfjs through the real graph; returns its events. */
async function runRecipe(recipe: Recipe): Promise<RunEvent[]> {
  const events: RunEvent[] = []
  const cacheDir = tempDir('dpo-cache')
  const graph = await compile(recipe, { baseDir: cacheDir, cacheDir })
  await runGraph(graph, {
    recipe, cacheDir, runDir: tempDir('dpo-run'), baseDir: cacheDir,
    executors: { ...dataExecutors, model: modelExecutor, ...createTfjsBackend({ device: 'cpu' }).executors }, onEvent: (e) => void events.push(e),
  })
  return events
}

const model = {
  id: 'tunekit/tiny-mistral', family: 'mistral', dtype: 'float32',
  random: { seed: 1, tokenizer: tinyTokenizer, config: { vocab_size: 320, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 128 } },
} as const
const dpo = (records: Record<string, unknown>[]) =>
  defineRecipe({
    name: 'tiny-dpo', model, stage: { kind: 'dpo' },
    data: { source: inline(records), format: 'openai', template: 'alpaca', maxLength: 48 },
    lora: { rank: 2, alpha: 4, targetModules: ['q_proj', 'v_proj'] },
    args: { batchSize: 2, maxSteps: 2, learningRate: 1e-2, logEvery: 1, saveEvery: 'never' },
    backend: 'tfjs', device: 'cpu', output: { merge: false },
  })

describe('dpo on tfjs', () => {
  it("KTO's unpaired examples and no pair: NoPreferencePairs (TK440) at ref-logprobs, before any model loads", async () => {
    const run = runRecipe(dpo([{ prompt: 'hot?', completion: 'cold', label: true }, { prompt: 'up?', completion: 'up', label: false }]))
    await expect(run).rejects.toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: A preference stage found no preference pairs
      ✖ TK440 stage "dpo" trains on pairs of a chosen and a rejected answer, but the tokenized data holds none (KTO's unpaired examples and plain conversations are not pairs) → at data.format
        fix: Give records with chosen and rejected answers (TRL's { prompt, chosen, rejected }, LLaMA-Factory's ranking: true, openai messages with chosen and rejected final turns; docs/data-formats.md), or train with stage { kind: 'sft' }.]
    `)
  })

  it("step events carry TRL's metrics, shown on the progress line", async () => {
    const events = await runRecipe(dpo([{ prompt: 'hot?', chosen: 'cold', rejected: 'warm' }, { prompt: 'up?', chosen: 'down', rejected: 'up' }]))
    const steps = events.filter((e): e is Extract<RunEvent, { type: 'step' }> => e.type === 'step')
    expect(steps.map((s) => Object.keys(s.metrics ?? {}))).toEqual(Array(2).fill(['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected']))
    // step 1: the policy is the reference (a fresh adapter), so loss = ln 2 and every reward 0
    expect(steps[0]!.loss).toBeCloseTo(Math.LN2, 6)
    expect(steps[0]!.metrics!['rewards/margins']).toBe(0)
    expect(describeEvent(steps[1]!)).toMatch(/^  train step 2\/2 epoch 2\.00 loss \d\.\d{4} acc \d\.\d{3} margin -?\d/)
  })
})
