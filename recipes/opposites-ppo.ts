/**
 * opposites-ppo: LLaMA-Factory's sft → rm → ppo on the tiny opposites model. A short SFT (tiny-chat
 * stopped early, as opposites-grpo starts: it answers some held-out questions wrong), the reward model
 * of recipes/opposites-rm.ts trained on that SFT model (chosen = the right antonym), then PPO, chained
 * (`init: { recipe }`): for every training question the policy samples an answer, the reward model
 * scores it at its last token, the per-token rewards are −klCoef·KL to the SFT model plus that score,
 * a value head on the policy gives GAE advantages, and 4 ppo epochs step on TRL's clipped policy and
 * value losses. All three graphs are one: the SFT and the reward model stay cached when only PPO changes.
 *
 * The end of a run prints how many of tiny-chat's held-out questions (never trained on by any stage)
 * the model answers exactly before and after PPO (greedy samples of the merged models, gradeAnswers),
 * and the score curve (the reward model's mean score of each logged step's rollout).
 *
 * Figure:  7/32 exact answers before PPO (the short SFT), 6/32 after; the rollouts' mean score rises
 *          from −0.10 to 0.5–1.2 (noisy, 16 answers a rollout) while the held-out answers do not get
 *          better: the policy finds words the reward model scores high that are not the antonym (the
 *          reward model's pairs reject only other words of the set). A run with maxSteps 30 and
 *          learningRate 3e-3 drifted further (KL up to 11) and answered 1/32.
 * Memory: < 1 GB.  Time: 7.3 min from a cold cache on 2 shared CPU cores (tfjs-wasm, `nice -n 10`):
 *          the short SFT, the reward model (≈ 1 min), PPO 5.1 min (sampling one answer at a time).
 * Run:    npx tsx recipes/opposites-ppo.ts          (`plan`, `graph`, `check` work too)
 */
import { defineRecipe, extendRecipe, inline, isEntryPoint } from '@tunekit/core'
import { main } from '@tunekit/cli'
import { formatGrades, gradeAnswers, oppositesDataset, readRunSamples } from '@tunekit/recipes'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { shortSft } from './opposites-grpo.ts'
import { recipe as oppositesRm } from './opposites-rm.ts'
import { heldOut } from './tiny-chat.ts'

// tiny-chat's 288 training conversations; its 32 held-out questions stay out of every stage.
const { train } = oppositesDataset({ seed: 0, heldOut: 0.1 })

/** opposites-rm's reward model, trained on the short SFT's merged model: the policy's base, so its adapter sits on the same weights. */
export const rewardModel = extendRecipe(oppositesRm, { name: 'opposites-rm-short', init: { recipe: shortSft }, output: { merge: false } })

export const recipe = defineRecipe({
  name: 'opposites-ppo',
  init: { recipe: shortSft }, // model and tokens are the short SFT's: its merged model, and the reference
  stage: {
    kind: 'ppo',
    rewardModel,
    numPpoEpochs: 4, // TRL's default: each rollout of 16 answers trains 4 optimizer steps
    klCoef: 0.05, // TRL's default
    temperature: 0.7, // TRL's default
    responseLength: 8, // an answer is one word and <|im_end|>: 2–4 tokens
    missingEosPenalty: 1, // an answer that does not end is worth less than any the reward model scores
  },
  lora: { rank: 8, alpha: 16, dropout: 0, targetModules: 'all-linear' },
  data: { source: inline(train), format: 'chatml-text', template: 'chatml', maxLength: 64 },
  args: { batchSize: 16, maxSteps: 20, learningRate: 2e-3, optimizer: 'adamw', logEvery: 4, shuffle: true },
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
  const curve = runs.map((run) => run.filter((e) => e.type === 'step' && e.node === 'train' && e.metrics?.['objective/scores'] !== undefined)).findLast((c) => c.length > 0) ?? []
  console.log('\nScore curve (the reward model\'s mean score of the step\'s rollout; KL to the SFT model):')
  for (const e of curve) console.log(`  step ${String(e.step).padStart(3)}  score ${e.metrics!['objective/scores']!.toFixed(3)}  kl ${e.metrics!['objective/kl']!.toFixed(3)}`)
  const before = gradeAnswers(heldOut, readRunSamples(join(runDir, shortSft.name)))
  const after = gradeAnswers(heldOut, readRunSamples(runDir))
  console.log(`\nExact answers to the held-out questions: ${before.correct}/${before.total} before PPO (the short SFT), ${after.correct}/${after.total} after`)
  console.log(`\nAfter PPO:\n${formatGrades(after)}`)
}
