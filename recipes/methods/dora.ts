/**
 * tiny-chat with DoRA: the same task, model, data and steps as recipes/tiny-chat.ts, with
 * `lora.useDora` on, so the two runs compare DoRA with plain LoRA (docs/methods.md has the figures).
 *
 * DoRA trains a magnitude per output row of every adapted module besides A and B (here 2 layers × 7
 * modules: 1,024 more trainable values) and computes the row norms of W + scale·B·A every step.
 *
 * Run:    npx tsx recipes/methods/dora.ts          (`plan`, `graph`, `check` work too)
 *         npx tunekit chat runs/tiny-chat-dora/merged
 */
import { isEntryPoint } from '@tunekit/core'
import { main } from '@tunekit/cli'
import { formatGrades, gradeAnswers, loraChatml, readRunSamples } from '@tunekit/recipes'
import { resolve } from 'node:path'
import { heldOut, options } from '../tiny-chat.ts'

export const recipe = loraChatml({ ...options, name: 'tiny-chat-dora', lora: { ...options.lora, useDora: true } })

await main(import.meta, recipe)

// After a run, grade the merged model's answers to the held-out questions (as tiny-chat does).
const verb = process.argv[2]
const partial = process.argv.some((a) => a === '--until' || a === '--only')
const ran = (verb === undefined || verb === 'run' || verb.startsWith('-')) && !partial
if (ran && !process.exitCode && (await isEntryPoint(import.meta))) {
  const samples = readRunSamples(resolve(recipe.output.dir ?? `runs/${recipe.name}`))
  if (samples.length > 0) console.log(`\nThe merged model, on questions it never saw:\n${formatGrades(gradeAnswers(heldOut, samples))}`)
}
