/**
 * tiny-chat with LLaMA Pro block expansion: a copy of each of the 2 layers, zero output projections,
 * inserted after it; only the copies train. The train artifact is the 4-layer model (no merge).
 *
 * Run:    npx tsx recipes/methods/llama-pro.ts
 */
import { main } from '@tunekit/cli'
import { gradeAfterRun, tinyChatWith } from '../tiny-chat.ts'

export const recipe = tinyChatWith('tiny-chat-llama-pro', { kind: 'llama-pro', numExpandedBlocks: 2 })

await main(import.meta, recipe)

await gradeAfterRun(import.meta, recipe)
