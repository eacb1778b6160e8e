/**
 * tiny-chat with DoRA: the same task, model, data and steps as recipes/tiny-chat.ts, with
 * `lora.useDora` on, so the two runs compare DoRA with plain LoRA (docs/methods.md has the figures).
 *
 * DoRA trains a magnitude per output row of every adapted module besides A and B (here 2 layers × 7
 * modules: 1,024 more trainable values) and computes the row norms of W + scale·B·A every step.
 *
 * Run:    npx tsx recipes/methods/dora.ts          (`plan`, `graph`, `check` work too)
 *         npx tunekit chat runs/tiny-chat-dora/merged
 */
import { main } from '@tunekit/cli'
import { loraChatml } from '@tunekit/recipes'
import { gradeAfterRun, options } from '../tiny-chat.ts'

export const recipe = loraChatml({ ...options, name: 'tiny-chat-dora', lora: { ...options.lora, useDora: true } })

await main(import.meta, recipe)

await gradeAfterRun(import.meta, recipe) // as tiny-chat does
