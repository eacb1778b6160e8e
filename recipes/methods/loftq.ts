/**
 * tiny-chat with LoftQ: the same task, model, data and steps as recipes/tiny-chat.ts, on a 4-bit NF4
 * base (`model.quantize`, as QLoRA) with `lora.initLoraWeights: 'loftq'`, so the run compares LoftQ's
 * start with QLoRA's (docs/methods.md has the figures).
 *
 * Before step 1, every adapted weight W of the 2 layers × 7 modules is quantised to NF4 and the
 * rank-8 SVD of the error W − Q(W) gives A and B (PEFT's loftq_init, `loftqIter` times; here 1);
 * the base the adapter trains against is Q(W − B·A), stored packed. The trainable count is LoRA's.
 * The artifact is a plain LoRA adapter of that replaced base, which it keeps beside it
 * (loftq_base.safetensors): PEFT loads the adapter onto the base with those weights put in, and
 * `merge` folds it into them.
 *
 * Run:    npx tsx recipes/methods/loftq.ts          (`plan`, `graph`, `check` work too)
 *         npx tunekit chat runs/tiny-chat-loftq/merged
 */
import { main } from '@tunekit/cli'
import { loraChatml } from '@tunekit/recipes'
import { gradeAfterRun, options } from '../tiny-chat.ts'

export const recipe = loraChatml({
  ...options,
  name: 'tiny-chat-loftq',
  model: { ...options.model, quantize: { bits: 4, type: 'nf4' } },
  lora: { ...options.lora, initLoraWeights: 'loftq', loftqConfig: { loftqBits: 4, loftqIter: 1 } },
})

await main(import.meta, recipe)

await gradeAfterRun(import.meta, recipe) // as tiny-chat does
