/**
 * tiny-chat with prompt tuning (PEFT's PromptTuningConfig): 16 trained virtual tokens before every
 * row, from the text of a task description; no merge, generation runs the adapter.
 *
 * Run:    npx tsx recipes/methods/prompt-tuning.ts
 */
import { main } from '@tunekit/cli'
import { gradeAfterRun, tinyChatWith } from '../tiny-chat.ts'

export const recipe = tinyChatWith('tiny-chat-prompt-tuning', { kind: 'prompt-tuning', numVirtualTokens: 16, promptTuningInit: 'TEXT', promptTuningInitText: 'Answer with the opposite word.' }, 3e-2)

await main(import.meta, recipe)

await gradeAfterRun(import.meta, recipe)
