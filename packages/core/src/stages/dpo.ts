import { warmStartReads } from '../graph/warm-start.ts'
import { addSourceNodes } from './data-nodes.ts'
import { addPairSplit } from './pair-split.ts'
import { defineStage } from './stage.ts'

/**
 * Direct Preference Optimization (TRL's DPOTrainer with `precompute_ref_log_probs`): preference
 * pairs → tokens with the prompt stored once (tokenize's `render: { kind: 'preference' }`) → the
 * reference's summed log-probabilities of every answer (`ref-logprobs`, computed once and cached)
 * → train. The reference depends on the base and the tokens only, so changing `stage.beta`, the
 * loss or `args` re-runs train alone. Pairs are batched in record order by the train node itself
 * (no split or collate: the batch plan is over chat samples, not pairs).
 */
export const dpoStage = defineStage({
  kind: 'dpo',
  summary: 'preference pairs (prompt, chosen, rejected) → the reference\'s log-probabilities, once → the DPO loss (sigmoid, ipo, hinge, robust)',
  build: async (b, recipe) => {
    const { data } = recipe
    await addSourceNodes(b, recipe)
    if (data.template === undefined) throw new Error('dpo: a recipe reached compile without data.template (parseRecipe fills it from the stage)')
    const render = { kind: 'preference' as const, template: data.template, maxPromptLength: data.maxPromptLength }
    await b.add('tokenize', ['format', 'model'], { extra: { render } })
    await b.add('ref-logprobs', ['model', 'tokenize'], { reads: warmStartReads(recipe, b.options) })
    const pairSplit = await addPairSplit(b)
    const stage = recipe.stage.kind === 'dpo' ? recipe.stage : undefined
    return b.add('train', ['model', 'tokenize', 'ref-logprobs', pairSplit], { ...(stage ? { extra: { objective: stage } } : {}), reads: warmStartReads(recipe, b.options) })
  },
})
