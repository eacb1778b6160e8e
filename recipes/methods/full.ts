/**
 * tiny-chat with full fine-tuning: every weight trains (4.2M, most of them the 32k-row embedding and
 * lm_head), with AdamW's two moments for each.
 *
 * Run:    npx tsx recipes/methods/full.ts
 */
import { main } from '@tunekit/cli'
import { gradeAfterRun, tinyChatWith } from '../tiny-chat.ts'

export const recipe = tinyChatWith('tiny-chat-full', { kind: 'full' })

await main(import.meta, recipe)

await gradeAfterRun(import.meta, recipe)
