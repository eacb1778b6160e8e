/**
 * opposites-rm: a reward model that prefers the right antonym, trained on a laptop CPU in under a
 * minute, with its pairwise accuracy on held-out pairs printed before and after training.
 *
 * The pairs come from @tunekit/recipes' seeded generator over tiny-chat's opposites questions: the
 * prompt is the question ("What is the opposite of hot?"), `chosen` the right antonym, `rejected`
 * another word of the set. The questions tiny-chat holds out are held out here too: the reward model
 * never trains on them, and the end of the run scores them (`rewardAccuracy` from tunekit, the
 * backend's `rewards` request). The model is tiny-chat's merged SFT model, chained: `init: { recipe:
 * tinyChat }` makes tiny-chat's graph part of this one (a tiny-chat run before shares its cache;
 * running this first runs tiny-chat too; from random weights the held-out accuracy stays near
 * chance). The rm stage puts the scalar head `score` on it (Linear(hidden, 1),
 * trained in full beside LoRA) and trains TRL's RewardTrainer loss −log σ(r_chosen − r_rejected).
 * The merged folder is an AutoModelForSequenceClassification.
 *
 * Figure:  from tiny-chat's SFT model, 53.1% before training (random head), 96.9% after (32 pairs).
 * Memory:  < 1 GB.  Time: 45 s on 2 shared CPU cores (tfjs-wasm), plus tiny-chat's run when it is not cached (≈ 1–2 min).
 * Run:     npx tsx recipes/opposites-rm.ts
 */
import { defineRecipe, inline, isEntryPoint } from '@tunekit/core'
import { loadBackend, main, rewardAccuracy } from '@tunekit/cli'
import { allProjections, oppositePreferencePairs } from '@tunekit/recipes'
import { recipe as tinyChat } from './tiny-chat.ts'

// 288 training pairs; the 32 questions tiny-chat holds out, as pairs, for the check.
const { train, heldOut } = oppositePreferencePairs({ seed: 0, heldOut: 0.1 })

export const recipe = defineRecipe({
  name: 'opposites-rm',
  init: { recipe: tinyChat }, // model and tokens (ChatML's, <|im_end|> the eos) are tiny-chat's: its merged model
  stage: { kind: 'rm' },
  data: { source: inline(train), format: 'openai', template: 'chatml', maxLength: 64 },
  // the two ChatML rows train as trainable tokens; a reward model has no lm_head
  lora: { rank: 8, alpha: 16, dropout: 0, targetModules: [...allProjections], trainableTokens: true },
  args: { batchSize: 16, maxSteps: 120, learningRate: 2e-3, optimizer: 'adamw', logEvery: 10, saveEvery: 40 },
  backend: 'tfjs',
  output: { merge: true },
})

await main(import.meta, recipe)

// After a whole run from the command line (not `--until`/`--only`, not another verb): the held-out figure.
const verb = process.argv[2]
const whole = (verb === undefined || verb === 'run' || verb.startsWith('-')) && !process.argv.some((a) => a === '--until' || a === '--only')
if (whole && !process.exitCode && (await isEntryPoint(import.meta))) {
  const backend = await loadBackend(recipe.backend === 'torch' ? 'torch' : 'tfjs', recipe.device)
  try {
    const before = await rewardAccuracy(recipe, heldOut, { backend, model: 'initial' })
    const after = await rewardAccuracy(recipe, heldOut, { backend, model: 'trained' })
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`
    console.log(`\nReward model on tiny-chat's SFT model: pairwise accuracy on ${heldOut.length} held-out pairs (chosen = the right antonym): ${pct(before.accuracy)} before training (random head), ${pct(after.accuracy)} after`)
  } finally {
    await backend.dispose?.()
  }
}
