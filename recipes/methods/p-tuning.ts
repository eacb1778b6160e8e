/**
 * tiny-chat with P-tuning: the same task, model, data and steps as recipes/tiny-chat.ts, with the
 * model frozen and 16 virtual tokens from PEFT's MLP prompt encoder before every conversation, so
 * the run compares P-tuning with LoRA (docs/methods.md).
 *
 * P-tuning trains the embedding [16, 64] and the encoder (three Linear(64, 64)): 13,504 values;
 * the adapter it saves is the encoder's output, [16, 64]. Nothing merges: generation runs the base
 * model with the adapter. The tiny model's weights are random, so a method that trains no weight
 * of the model learns far less here than LoRA does.
 *
 * Run:    npx tsx recipes/methods/p-tuning.ts      (`plan`, `graph`, `check` work too)
 *         npx tunekit chat <the model folder> --adapter runs/tiny-chat-p-tuning/adapter
 */
import { defineRecipe } from '@tunekit/core'
import { main } from '@tunekit/cli'
import { gradeAfterRun, options } from '../tiny-chat.ts'

const { lora: _lora, ...tinyChat } = options

export const recipe = defineRecipe({
  ...tinyChat,
  name: 'tiny-chat-p-tuning',
  tokens: { chatml: true },
  data: { ...tinyChat.data, format: 'chatml-text', template: 'chatml' },
  method: { kind: 'p-tuning', numVirtualTokens: 16, encoderReparameterizationType: 'MLP' },
  // nothing to merge: said here, as a resolved recipe (merge defaults to true) must validate again
  output: { ...tinyChat.output, merge: false },
  args: { ...tinyChat.args, learningRate: 1e-2 }, // the encoder's few values tolerate a higher rate
})

await main(import.meta, recipe)

await gradeAfterRun(import.meta, recipe) // as tiny-chat does
