/**
 * tiny-chat with LoRA+ (`lora.loraplusLrRatio: 16`, LLaMA-Factory's `loraplus_lr_ratio`): the B
 * matrices learn 16× faster than A. No memory cost.
 *
 * Run:    npx tsx recipes/methods/loraplus.ts
 */
import { main } from '@tunekit/cli'
import { loraChatml } from '@tunekit/recipes'
import { gradeAfterRun, options } from '../tiny-chat.ts'

export const recipe = loraChatml({ ...options, name: 'tiny-chat-loraplus', lora: { ...options.lora, loraplusLrRatio: 16 } })

await main(import.meta, recipe)

await gradeAfterRun(import.meta, recipe)
