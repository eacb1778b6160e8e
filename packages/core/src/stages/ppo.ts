import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Recipe } from '../define.ts'
import { issue, TunekitError } from '../errors/tunekit-error.ts'
import { chainedId } from '../graph/chain.ts'
import { warmStartReads } from '../graph/warm-start.ts'
import { addSourceNodes } from './data-nodes.ts'
import { defineStage } from './stage.ts'

/** The files of an rm train artifact the ppo train node reads (LoRA's adapter with the `score` head saved). */
const RM_FILES = ['adapter_config.json', 'adapter_model.safetensors'] as const

/** The ppo stage's reward model when it is a recipe (its graph joins this one), else undefined. */
export function rewardModelRecipe(recipe: Recipe): Recipe | undefined {
  const { stage } = recipe
  return stage.kind === 'ppo' && typeof stage.rewardModel !== 'string' ? (stage.rewardModel as unknown as Recipe) : undefined
}

/** The train node's objective: the stage's options with the reward model as `{ recipe }` (its node prefix) or `{ path }`. */
function ppoObjective(recipe: Recipe, baseDir: string) {
  const { stage } = recipe
  if (stage.kind !== 'ppo') throw new Error(`ppo: built for stage ${stage.kind}`)
  const up = rewardModelRecipe(recipe)
  const rewardModel: { recipe: string; path?: undefined } | { path: string; recipe?: undefined } = up ? { recipe: up.name } : { path: resolve(baseDir, stage.rewardModel as string) }
  return { ...stage, rewardModel }
}

/** The reward artifact's files for the train node's key, checked to be there (a folder named in the recipe). */
function rewardReads(dir: string, value: string): string[] {
  const files = RM_FILES.map((f) => join(dir, f))
  const missing = RM_FILES.find((_, i) => !existsSync(files[i]!))
  if (missing !== undefined) throw new TunekitError([issue('PpoRewardModelNotArtifact', { path: 'stage.rewardModel', value }, value, missing)])
  return files
}

/**
 * Proximal Policy Optimization against a reward model (TRL 0.29's PPOTrainer, LLaMA-Factory's
 * sft → rm → ppo): conversations → their prompts (tokenize's `render: { kind: 'prompt' }`, as grpo)
 * → train, which samples a completion of each prompt from the policy, scores it with the reward
 * model (the rm recipe's train artifact, an input, or an rm artifact folder, read), and steps on the
 * clipped policy and value losses over GAE advantages. The reward model's adapter sits on this
 * recipe's base, as the policy's does; the reference is that base with the policy's adapter off.
 */
export const ppoStage = defineStage({
  kind: 'ppo',
  summary: 'prompts → completions sampled from the policy, scored by an rm model → per-token rewards −klCoef·KL + score, value head, GAE, clipped policy + value losses (TRL\'s PPO)',
  requires: (recipe) => {
    const up = rewardModelRecipe(recipe)
    return up ? [up] : []
  },
  build: async (b, recipe) => {
    const { data, stage } = recipe
    await addSourceNodes(b, recipe)
    if (data.template === undefined) throw new Error('ppo: a recipe reached compile without data.template (parseRecipe fills it from the stage)')
    await b.add('tokenize', ['format', 'model'], { extra: { render: { kind: 'prompt' as const, template: data.template, maxPromptLength: data.maxPromptLength } } })
    const objective = ppoObjective(recipe, b.options.baseDir)
    const up = rewardModelRecipe(recipe)
    const given = stage.kind === 'ppo' ? String(stage.rewardModel) : ''
    const reads = [...warmStartReads(recipe, b.options), ...(objective.rewardModel.path !== undefined ? rewardReads(objective.rewardModel.path, given) : [])]
    const inputs = ['model', 'tokenize', ...(up ? [chainedId(up, 'train')] : [])]
    return b.add('train', inputs, { extra: { objective }, reads })
  },
})

/** The rm train artifact folder a ppo train node reads: its `<recipe>/train` input's, or the folder the recipe names. */
export function rewardModelDir(ctx: { input: (id: string) => string }, rewardModel: { recipe?: string | undefined; path?: string | undefined }): string {
  if (rewardModel.path !== undefined) return rewardModel.path
  return ctx.input(`${rewardModel.recipe!}/train`)
}
