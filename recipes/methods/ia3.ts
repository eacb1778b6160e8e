/**
 * tiny-chat with IA³ (PEFT's IA3Config, the family's default modules): a scaling vector per k_proj,
 * v_proj and down_proj, the fewest trained values; the ChatML rows stay untrained (TK203 warns).
 *
 * Run:    npx tsx recipes/methods/ia3.ts
 */
import { main } from '@tunekit/cli'
import { gradeAfterRun, tinyChatWith } from '../tiny-chat.ts'

export const recipe = tinyChatWith('tiny-chat-ia3', { kind: 'ia3' }, 3e-2)

await main(import.meta, recipe)

await gradeAfterRun(import.meta, recipe)
