// LoRA training of the newer families on both backends: the same tiny random model, shards, batch
// plan and seeded initial adapter, dropout 0, float32; per-step losses agree (tfjs pure-JS cpu and
// transformers + PEFT on cpu), so the family's forward and backward agree on both.
import { defineRecipe, inline, type Recipe } from '@tunekit/core'
import { createTfjsBackend } from '@tunekit/tfjs'
import { createTorchBackend } from '@tunekit/torch'
import { describe, expect, it } from 'vitest'
import { tinyTokenizer } from '../data/helpers.ts'
import { python, records, runRecipe } from './helpers.ts'
import { losses } from './logits.ts'

const STEPS = 6
// every expert runs on every token on tfjs: fewer steps keep the file's time down
const MOE_STEPS = 3

// Gemma 2B's config shrunk, on the 322-token test tokenizer: head_dim 16 apart from hidden / heads (8), one kv head, tied embeddings.
const gemma = (backend: 'tfjs' | 'torch') =>
  defineRecipe<'gemma'>({
    name: 'tiny-gemma',
    model: {
      id: 'google/gemma-2b',
      family: 'gemma',
      dtype: 'float32',
      random: { seed: 1, tokenizer: tinyTokenizer, config: { vocab_size: 322, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 1, head_dim: 16, max_position_embeddings: 256 } },
    },
    data: { source: inline(records), format: { kind: 'columns', prompt: 'prompt', response: 'response' }, maxLength: 64, split: { eval: 2 } },
    tokens: { chatml: true },
    lora: { rank: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj', 'gate_proj', 'down_proj'], trainableTokens: true },
    args: { batchSize: 2, maxSteps: STEPS, learningRate: 1e-2, warmupSteps: 2, lrScheduler: 'linear', logEvery: 1, seed: 3, evalEvery: 'never' },
    backend,
    device: 'cpu',
    output: { merge: false },
  })

// Phi-3 mini's config shrunk: LoRA on the fused qkv_proj and gate_up_proj as PEFT applies it (one A/B
// pair over [q | k | v]), the sliding window (6) shorter than the longest rows.
const phi3 = (backend: 'tfjs' | 'torch') =>
  defineRecipe<'phi3'>({
    name: 'tiny-phi3',
    model: {
      id: 'microsoft/Phi-3-mini-4k-instruct',
      family: 'phi3',
      dtype: 'float32',
      random: { seed: 1, tokenizer: tinyTokenizer, config: { vocab_size: 322, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256, sliding_window: 6 } },
    },
    data: { source: inline(records), format: { kind: 'columns', prompt: 'prompt', response: 'response' }, maxLength: 64, split: { eval: 2 } },
    tokens: { chatml: true },
    lora: { rank: 4, alpha: 8, dropout: 0, targetModules: ['qkv_proj', 'o_proj', 'gate_up_proj', 'down_proj'], trainableTokens: true },
    args: { batchSize: 2, maxSteps: STEPS, learningRate: 1e-2, warmupSteps: 2, lrScheduler: 'linear', logEvery: 1, seed: 3, evalEvery: 'never' },
    backend,
    device: 'cpu',
    output: { merge: false },
  })

// Mixtral-8x7B's config shrunk to 4 experts, top 2: LoRA on the attention, the router's load-balancing
// loss in both (coefficient 0.1: the term is ~0.2 of a ~5.9 loss; left out on torch alone, the losses differ by 3.6e-2 relative).
const mixtral = (backend: 'tfjs' | 'torch') =>
  defineRecipe<'mixtral'>({
    name: 'tiny-mixtral',
    model: {
      id: 'mistralai/Mixtral-8x7B-v0.1',
      family: 'mixtral',
      dtype: 'float32',
      random: { seed: 1, tokenizer: tinyTokenizer, config: { vocab_size: 322, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256, num_local_experts: 4, num_experts_per_tok: 2, router_aux_loss_coef: 0.1 } },
    },
    data: { source: inline(records), format: { kind: 'columns', prompt: 'prompt', response: 'response' }, maxLength: 64, split: { eval: 2 } },
    tokens: { chatml: true },
    lora: { rank: 4, alpha: 8, dropout: 0, targetModules: 'all-linear', trainableTokens: true },
    args: { batchSize: 2, maxSteps: MOE_STEPS, learningRate: 1e-2, warmupSteps: 1, lrScheduler: 'linear', logEvery: 1, seed: 3, evalEvery: 'never' },
    backend,
    device: 'cpu',
    output: { merge: false },
  })

/** Per-step losses of a recipe trained on both backends: each run's, checked to agree within 1e-4 relative and to fall. */
async function expectSameLosses(recipe: (backend: 'tfjs' | 'torch') => Recipe, steps = STEPS): Promise<void> {
  const [tfjs, torch] = await Promise.all([
    runRecipe(recipe('tfjs'), createTfjsBackend({ device: 'cpu' }), { until: 'train' }),
    runRecipe(recipe('torch'), createTorchBackend({ python }), { until: 'train' }),
  ])
  const a = losses(tfjs)
  const b = losses(torch)
  expect(a.length).toBe(steps)
  expect(b.length).toBe(steps)
  const rel = a.map((x, i) => Math.abs(x - b[i]!) / Math.abs(b[i]!))
  console.log(`${recipe('tfjs').name}: max relative loss difference ${Math.max(...rel).toExponential(2)}`)
  expect(Math.max(...rel), `tfjs ${a.join(', ')}\ntorch ${b.join(', ')}`).toBeLessThan(1e-4)
  // the loss moves: the adapter trains
  expect(a.at(-1)!).toBeLessThan(a[0]!)
}

describe('families train alike on tfjs and torch (cpu, float32)', { timeout: 600_000 }, () => {
  it('phi-3 LoRA on the fused modules: per-step losses agree to 1e-4 relative', () => expectSameLosses(phi3))

  it('gemma LoRA: per-step losses agree to 1e-4 relative', () => expectSameLosses(gemma))

  it('mixtral LoRA with the router load-balancing loss: per-step losses agree to 1e-4 relative', () => expectSameLosses(mixtral, MOE_STEPS))
})
