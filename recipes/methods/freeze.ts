/**
 * tiny-chat with freeze tuning (LLaMA-Factory's `finetuning_type: freeze`): the last layer, and the
 * embedding and lm_head so that the added ChatML rows learn.
 *
 * Run:    npx tsx recipes/methods/freeze.ts
 */
import { main } from '@tunekit/cli'
import { gradeAfterRun, tinyChatWith } from '../tiny-chat.ts'

export const recipe = tinyChatWith('tiny-chat-freeze', { kind: 'freeze', trainableLayers: 1, extraModules: ['embed_tokens', 'lm_head'] })

await main(import.meta, recipe)

await gradeAfterRun(import.meta, recipe)
