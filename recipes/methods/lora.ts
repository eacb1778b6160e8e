/**
 * tiny-chat with LoRA, as recipes/tiny-chat.ts trains it (rank 8 on all seven projections, the
 * embedding and lm_head saved): the baseline row of bench/methods.ts.
 *
 * Run:    npx tsx recipes/methods/lora.ts          (`plan`, `graph`, `check` work too)
 */
import { main } from '@tunekit/cli'
import { loraChatml } from '@tunekit/recipes'
import { gradeAfterRun, options } from '../tiny-chat.ts'

export const recipe = loraChatml({ ...options, name: 'tiny-chat-lora' })

await main(import.meta, recipe)

await gradeAfterRun(import.meta, recipe)
