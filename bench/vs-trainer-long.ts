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
import { defineRecipe, inline } from '@tunekit/core'
import { main } from '@tunekit/cli'
import { allProjections } from '@tunekit/recipes'
import { benchTurns } from './vs-trainer-job.ts'

// The conversations as prompt / response columns under Mistral's own chat template: its [INST]
// markers are plain text and </s> is in the vocabulary, so no token is added and no embedding row
// has to train (ChatML's added tokens would need embed_tokens or trainable token rows).
const turns = benchTurns(200, 1, { question: { min: 135, max: 220 }, answer: { min: 135, max: 220 } })

// 135–220 words a turn, ≈ 150–250 tokens each (vs-trainer-job.ts's words): ≈ 400 tokens a row (451 at most), 44% of them labelled.
export const recipe = defineRecipe<'mistral'>({
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
  lora: { rank: 8, alpha: 16, dropout: 0, targetModules: [...allProjections], modulesToSave: [] },
  data: {
    source: inline(turns),
    format: { kind: 'columns', prompt: 'prompt', response: 'response' },
    template: 'mistral-instruct',
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
