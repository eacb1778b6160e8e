/**
 * The third job of bench/vs-trainer.ts, the one its cost model is validated on (`--validate`):
 * fitted on tiny-chat and bench/vs-trainer-job.ts, the model predicts this job's train time and
 * memory out of sample. Its mix differs from both: LoRA r8 alone (no saved modules: a frozen head
 * and frozen embeddings), hidden 128 with 2 layers on the real 32k Mistral vocabulary, rows of
 * 300–500 tokens (attention's s² weighs more), batch 4, and only the answers labelled (≈ half of
 * the tokens: a head that tfjs runs on the labelled rows only).
 *
 * Memory: < 1 GB.  Time: 1–4 minutes of training on 2 CPU cores.
 * Run:    npx tsx bench/vs-trainer-long.ts [plan | run | …]   (bench/vs-trainer.ts runs it on each backend)
 */
import { inline } from '@tunekit/core'
import { main } from '@tunekit/cli'
import { loraChatml } from '@tunekit/recipes'
import { benchConversations } from './vs-trainer-job.ts'

// 135–220 words a turn, ≈ 150–250 tokens each (vs-trainer-job.ts's words): 300–500 tokens a row.
export const recipe = loraChatml({
  name: 'vs-trainer-long',
  model: {
    id: 'tunekit/long-mistral',
    family: 'mistral',
    dtype: 'float32',
    random: {
      seed: 0,
      tokenizer: 'mistral',
      config: { vocab_size: 32000, hidden_size: 128, intermediate_size: 344, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 32 },
    },
  },
  // plain ChatML text: no added token rows, so nothing beside the adapters trains
  tokens: { chatml: false },
  lora: { rank: 8, alpha: 16, dropout: 0, modulesToSave: [] },
  data: {
    source: inline(benchConversations(200, 1, { question: { min: 135, max: 220 }, answer: { min: 135, max: 220 } })),
    maxLength: 512,
    mask: 'assistant',
    split: { eval: 0 },
  },
  args: {
    batchSize: 4,
    maxSteps: 40,
    learningRate: 2e-4,
    optimizer: 'adamw',
    groupByLength: false,
    evalEvery: 'never',
    saveEvery: 'never',
    logEvery: 10,
  },
  backend: 'tfjs',
  output: { merge: false },
})

await main(import.meta, recipe)
