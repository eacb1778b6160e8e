/**
 * tiny-chat with prefix tuning: the same task, model, data and steps as recipes/tiny-chat.ts, with
 * the model frozen and 16 trained key/value positions before every layer's attention (PEFT's
 * PrefixTuningConfig with the projection MLP), so the run compares prefix tuning with LoRA
 * (docs/methods.md).
 *
 * The prefix is [16, 2 layers · 2 · 32] (kvDim = 16 · 2 kv heads); with the projection it comes from
 * embeddings [16, 32] through Linear(32, 64), tanh, Linear(64, 128): 10,944 trainable values, and the
 * adapter saves the prefix itself. Nothing merges: generation runs the base model with the adapter.
 *
 * Run:    npx tsx recipes/methods/prefix-tuning.ts (`plan`, `graph`, `check` work too)
 *         npx tunekit chat <the model folder> --adapter runs/tiny-chat-prefix-tuning/adapter
 */
import { defineRecipe } from '@tunekit/core'
import { main } from '@tunekit/cli'
import { gradeAfterRun, options } from '../tiny-chat.ts'

const { lora: _lora, ...tinyChat } = options

export const recipe = defineRecipe({
  ...tinyChat,
  name: 'tiny-chat-prefix-tuning',
  tokens: { chatml: true },
  data: { ...tinyChat.data, format: 'chatml-text', template: 'chatml' },
  method: { kind: 'prefix-tuning', numVirtualTokens: 16, prefixProjection: true, encoderHiddenSize: 64 },
  // nothing to merge: said here, as a resolved recipe (merge defaults to true) must validate again
  output: { ...tinyChat.output, merge: false },
  args: { ...tinyChat.args, learningRate: 1e-2 },
})

await main(import.meta, recipe)

await gradeAfterRun(import.meta, recipe) // as tiny-chat does
