// The torch backend's speed options through the whole pipeline: a packed recipe trained with
// args.paddingFree and args.chunkedLoss gives the plain run's step and eval losses within 1e-5
// (the worker's own tests compare per-sample losses and gradients: tests/test_speed.py); the
// options are refused on tfjs and on stages that do not read the batch plan.
import { rmSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defineRecipe, inline, parseRecipe, type Recipe } from '@tunekit/core'
import { createTorchBackend } from '@tunekit/torch'
import { tinyTokenizer } from '../data/helpers.ts'
import { recipeError } from '../core/helpers.ts'
import { python, records, runRecipe, tempDir, type Run } from './helpers.ts'

/** 4 steps of packed micro-batches of 2 rows, eval every 2 steps. */
const recipe = (speed: { paddingFree?: boolean; chunkedLoss?: boolean } = {}): Recipe<'mistral'> =>
  defineRecipe<'mistral'>({
    name: 'tiny-speed',
    model: {
      id: 'tunekit/tiny-mistral',
      family: 'mistral',
      dtype: 'float32',
      random: { seed: 1, tokenizer: tinyTokenizer, config: { vocab_size: 322, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 128 } },
    },
    data: { source: inline(records), format: { kind: 'columns', prompt: 'prompt', response: 'response' }, maxLength: 48, packing: true, split: { eval: 4 } },
    tokens: { chatml: true },
    lora: { rank: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj'], trainableTokens: true },
    args: { batchSize: 2, maxSteps: 4, learningRate: 1e-2, logEvery: 1, evalEvery: 2, saveEvery: 'never', seed: 3, ...speed },
    backend: 'torch',
    device: 'cpu',
    output: { merge: false },
  })

const losses = (run: Run): number[] => run.events.flatMap((e) => (e.type === 'step' || e.type === 'eval' ? [e.loss] : []))

describe('padding-free rows and the chunked loss on the torch backend', { timeout: 300_000 }, () => {
  const backend = createTorchBackend({ python })
  const caches: string[] = []
  afterAll(() => caches.forEach((d) => rmSync(d, { recursive: true, force: true })))
  let plain: Run
  let fast: Run

  beforeAll(async () => {
    // one cache: the second run reuses the model, tokenize, split and collate nodes (the options are
    // in the train node's key only)
    const cacheDir = caches[caches.push(tempDir('cache')) - 1]!
    // both options false: the padded rows and the whole logits (unset, the worker turns both on on CPU)
    plain = await runRecipe(recipe({ paddingFree: false, chunkedLoss: false }), backend, { until: 'train', cacheDir })
    fast = await runRecipe(recipe({ paddingFree: true, chunkedLoss: true }), backend, { until: 'train', cacheDir })
  }, 300_000)

  it('gives the padded run losses within 1e-5, the options in the train node key only', () => {
    // every node before train came from the first run's cache
    expect(fast.result.nodes.filter((n) => n.status === 'ran').map((n) => n.id)).toEqual(['train'])
    const a = losses(plain)
    const b = losses(fast)
    expect(a).toHaveLength(6) // 4 steps, 2 evals
    expect(b).toHaveLength(6)
    const diff = Math.max(...a.map((x, i) => Math.abs(x - b[i]!)))
    console.log(`paddingFree + chunkedLoss: max |loss − plain| = ${diff.toExponential(2)}`)
    expect(diff).toBeLessThan(1e-5)
    // the worker says which loss it computed
    expect(fast.events.some((e) => e.type === 'log' && e.message.includes('chunked cross-entropy'))).toBe(true)
  })
})

describe('the speed options are checked before any compute', () => {
  it('need the torch backend and a stage that reads the batch plan', () => {
    const bad = { ...recipe(), backend: 'tfjs', stage: { kind: 'dpo' }, args: { ...recipe().args, paddingFree: true, torchCompile: true } }
    expect(recipeError(bad).issues.filter((i) => /^TK65[67]$/.test(i.code)).map((i) => [i.code, i.path])).toEqual([
      ['TK656', 'args.paddingFree'],
      ['TK657', 'args.paddingFree'],
      ['TK656', 'args.torchCompile'],
      ['TK657', 'args.torchCompile'],
    ])
    const auto = recipeError({ ...recipe(), backend: 'auto', args: { chunkedLoss: true } })
    expect(auto.message).toMatchInlineSnapshot(`
      "Recipe has 1 problem
      ✖ TK656 args.chunkedLoss changes how the torch worker lays out batches, computes the loss or compiles the model, but backend is "auto" (which may choose tfjs) → at args.chunkedLoss
        value: true
        fix: Set backend: 'torch', or remove args.chunkedLoss (the tfjs backend trains without it)."
    `)
    // off (false) or unset: no issue
    expect(() => parseRecipe({ ...recipe(), backend: 'tfjs', args: { paddingFree: false } })).not.toThrow()
  })
})
