/**
 * my-recipe: a LoRA fine-tune of a chat model on your conversations.
 *
 * Memory: `plan` prints the estimate for your machine.  Time: `plan` prints an ETA.
 * Run:    npx tsx recipes/my-recipe.ts plan     what would run, memory, time; loads no weights
 *         npx tsx recipes/my-recipe.ts          check, plan, train, merge, sample
 */
import { file, inline } from '@tunekit/core'
import { main } from '@tunekit/cli'
import { loraChatml } from '@tunekit/recipes'

export const recipe = loraChatml({
  name: 'my-recipe',
  // A tiny random model so that this file runs anywhere; put your checkpoint here, e.g.
  // { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' } (then `quantize` for QLoRA).
  model: {
    id: 'tunekit/tiny-mistral',
    family: 'mistral',
    random: { seed: 0, tokenizer: 'mistral', config: { hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2 } },
  },
  data: {
    // Your data: source: file('../data/train.jsonl') (a path from this file's folder) with one
    // { "messages": [{ "role", "content" }, …] } per line; docs/data-formats.md lists the other formats.
    source: inline([
      { messages: [{ role: 'user', content: 'Hello, who are you?' }, { role: 'assistant', content: 'A small model, trained with tunekit.' }] },
      { messages: [{ role: 'user', content: 'What do you do?' }, { role: 'assistant', content: 'I answer in the style of my training data.' }] },
    ]),
    format: 'openai',
    mask: 'assistant',
    maxLength: 128,
    split: { eval: 0 },
  },
  lora: { rank: 8, alpha: 16, dropout: 0 },
  args: { batchSize: 2, maxSteps: 10, learningRate: 1e-3, optimizer: 'adamw', evalEvery: 'never', saveEvery: 'never' },
})

await main(import.meta, recipe)
