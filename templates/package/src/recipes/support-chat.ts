/**
 * support-chat: the package's ready-to-run recipe, on a tiny random model so it runs anywhere.
 * Run: npx tsx src/recipes/support-chat.ts plan    (or without `plan` to train)
 */
import { inline } from '@tunekit/core'
import { main } from '@tunekit/cli'
import { supportChat } from '../support-chat.ts'

export const recipe = supportChat({
  name: 'support-chat',
  model: {
    id: 'tunekit/tiny-mistral',
    family: 'mistral',
    random: { seed: 0, tokenizer: 'mistral', config: { hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2 } },
  },
  data: {
    source: inline([
      { messages: [{ role: 'user', content: 'My order has not arrived.' }, { role: 'assistant', content: 'Sorry about that! Could you send me the order number?' }] },
      { messages: [{ role: 'user', content: 'How do I reset my password?' }, { role: 'assistant', content: 'Open Settings, then Account, then Reset password.' }] },
    ]),
    format: 'openai',
    maxLength: 128,
    split: { eval: 0 },
  },
  args: { batchSize: 2, maxSteps: 10, evalEvery: 'never', saveEvery: 'never' },
})

await main(import.meta, recipe)
