/**
 * tiny-chat with PiSSA: the same task, model, data and steps as recipes/tiny-chat.ts, with
 * `lora.initLoraWeights: 'pissa'`, so the two runs compare PiSSA's start with LoRA's (docs/methods.md
 * has the figures).
 *
 * PiSSA starts A and B from the top-8 singular vectors of every adapted weight and trains against
 * the residual base; the trainable count is LoRA's. Before step 1 each of the 2 layers × 7 modules
 * gets an SVD (a few ms each at hidden 64). The adapter is written converted to a rank-16 LoRA of
 * the unmodified base, so PEFT loads it as-is and the merge is LoRA's.
 *
 * Run:    npx tsx recipes/methods/pissa.ts          (`plan`, `graph`, `check` work too)
 *         npx tunekit chat runs/tiny-chat-pissa/merged
 */
import { main } from '@tunekit/cli'
import { loraChatml } from '@tunekit/recipes'
import { gradeAfterRun, options } from '../tiny-chat.ts'

export const recipe = loraChatml({ ...options, name: 'tiny-chat-pissa', lora: { ...options.lora, initLoraWeights: 'pissa' } })

await main(import.meta, recipe)

await gradeAfterRun(import.meta, recipe) // as tiny-chat does
