import type { Recipe } from '../define.ts'
import { warmStartReads } from '../graph/warm-start.ts'
import { addSourceNodes } from './data-nodes.ts'
import { defineStage } from './stage.ts'

/** The train node's objective: the stage's options with each reward function as its source text (its key). */
function grpoObjective(recipe: Recipe) {
  const { stage } = recipe
  if (stage.kind !== 'grpo') throw new Error(`grpo: built for stage ${stage.kind}`)
  const { rewards, rewardWeights, ...options } = stage
  return { ...options, rewards: rewards.map((fn) => fn.toString()), ...(rewardWeights ? { rewardWeights: [...rewardWeights] } : {}) }
}

/**
 * Group Relative Policy Optimization (TRL's GRPOTrainer): conversations → their prompts (tokenize's
 * `render: { kind: 'prompt' }`: every turn before the last assistant turn, with the generation
 * prompt; that turn's text kept as the reference answer) → train, which samples completions from
 * the policy, scores them with the recipe's reward functions and steps on group-normalised
 * advantages. Sampling is online, so there is no ref-logprobs node: with `beta` > 0 the train node
 * scores its completions under the reference itself (the base, the adapter off).
 */
export const grpoStage = defineStage({
  kind: 'grpo',
  summary: 'prompts → completions sampled from the policy, scored by the recipe\'s reward functions → group-normalised advantages, clipped ratio + β·KL (TRL\'s GRPO)',
  build: async (b, recipe) => {
    const { data } = recipe
    await addSourceNodes(b, recipe)
    if (data.template === undefined) throw new Error('grpo: a recipe reached compile without data.template (parseRecipe fills it from the stage)')
    await b.add('tokenize', ['format', 'model'], { extra: { render: { kind: 'prompt' as const, template: data.template, maxPromptLength: data.maxPromptLength } } })
    return b.add('train', ['model', 'tokenize'], { extra: { objective: grpoObjective(recipe) }, reads: warmStartReads(recipe, b.options) })
  },
})
