/**
 * opposites-grpo: online RL with a reward written here. A short SFT of the tiny opposites model
 * (tiny-chat's recipe stopped early, so it answers some held-out questions wrong), then GRPO,
 * chained (`init: { recipe }`): for every training question the policy samples `numGenerations`
 * answers, the exact-answer reward below scores each 1 or 0, and each answer is pushed up or down
 * by how it did against its group. The reward's source text is part of the train node's key: edit
 * it and GRPO re-trains; the SFT part stays cached.
 *
 * The end of a run prints how many of tiny-chat's held-out questions (never trained on, by either
 * stage) the model answers exactly before and after GRPO (greedy samples of the merged models,
 * gradeAnswers), and the reward curve (the mean reward of each logged step).
 *
 * Memory: < 1 GB.  Time: a few minutes on a laptop CPU from a cold cache (the short SFT included).
 * Run:    npx tsx recipes/opposites-grpo.ts          (`plan`, `graph`, `check` work too)
 * Torch:  npx tsx recipes/opposites-grpo.ts --set backend=torch   (the worker samples; the reward
 *         below still runs here, asked over the worker's stdin; the short SFT stays on tfjs)
 */
import { defineRecipe, inline, isEntryPoint, type GrpoExample } from '@tunekit/core'
import { main } from '@tunekit/cli'
import { formatGrades, gradeAnswers, loraChatml, oppositesDataset, readRunSamples } from '@tunekit/recipes'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { heldOut, options as tinyChat } from './tiny-chat.ts'

// tiny-chat's 288 training conversations; its 32 held-out questions stay out of both stages.
const { train } = oppositesDataset({ seed: 0, heldOut: 0.1 })

/** tiny-chat stopped at 50 of its 120 steps: it has the format and some of the words. */
export const shortSft = loraChatml({ ...tinyChat, name: 'tiny-chat-short', args: { ...tinyChat.args, maxSteps: 50 } })

/** 1 when the answer is exactly the reference antonym (surrounding space ignored), else 0. */
function exactAnswer(completion: string, example: GrpoExample): number {
  return completion.trim() === example.answer?.trim() ? 1 : 0
}

export const recipe = defineRecipe({
  name: 'opposites-grpo',
  init: { recipe: shortSft }, // model and tokens are the short SFT's: its merged model
  stage: {
    kind: 'grpo',
    rewards: [exactAnswer],
    numGenerations: 8, // 2 questions a step, 8 sampled answers each
    beta: 0.04, // a little KL to the SFT model (TRL's default is 0: no reference pass)
    temperature: 0.7, // sharper than TRL's 1: the short SFT's answers are words, not noise
    maxCompletionLength: 8, // an answer is one word and <|im_end|>: 2–4 tokens
  },
  lora: { rank: 8, alpha: 16, dropout: 0, targetModules: 'all-linear' },
  data: { source: inline(train), format: 'chatml-text', template: 'chatml', maxLength: 64 },
  args: { batchSize: 16, maxSteps: 40, learningRate: 3e-3, optimizer: 'adamw', logEvery: 5, saveEvery: 20, shuffle: true },
  backend: 'tfjs',
  output: { samples: heldOut.map((q) => q.prompt) },
})

await main(import.meta, recipe)

const verb = process.argv[2]
const ran = (verb === undefined || verb === 'run' || verb.startsWith('-')) && !process.argv.some((a) => a === '--until' || a === '--only')
if (ran && !process.exitCode && (await isEntryPoint(import.meta))) {
  const runDir = resolve(recipe.output.dir ?? `runs/${recipe.name}`)
  // events.jsonl grows by every run of this folder: the curve is the last run that trained (a cached train logs no steps)
  const events = readFileSync(join(runDir, 'events.jsonl'), 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as { type: string; node?: string; step?: number; metrics?: Record<string, number> })
  const runs = events.reduce<(typeof events)[]>((all, e) => (e.type === 'run-start' ? [...all, []] : (all.at(-1)?.push(e), all)), [[]])
  const curve = runs.map((run) => run.filter((e) => e.type === 'step' && e.node === 'train' && e.metrics?.reward !== undefined)).findLast((c) => c.length > 0) ?? []
  console.log(`\nReward curve (mean exact-answer reward of the step's ${recipe.stage.kind === 'grpo' ? recipe.args.batchSize : 0} sampled answers):`)
  for (const e of curve) console.log(`  step ${String(e.step).padStart(3)}  ${e.metrics!.reward!.toFixed(3)}  ${'█'.repeat(Math.round(40 * e.metrics!.reward!))}`)
  const before = gradeAnswers(heldOut, readRunSamples(join(runDir, shortSft.name)))
  const after = gradeAnswers(heldOut, readRunSamples(runDir))
  console.log(`\nExact answers to the held-out questions: ${before.correct}/${before.total} before GRPO (the short SFT), ${after.correct}/${after.total} after`)
  console.log(`\nAfter GRPO:\n${formatGrades(after)}`)
}
