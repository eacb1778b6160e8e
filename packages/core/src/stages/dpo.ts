import { warmStartReads } from '../graph/warm-start.ts'
import { addPreferenceNodes, addPreferenceTrain } from './preference-nodes.ts'
import { defineStage } from './stage.ts'

/**
 * Direct Preference Optimization (TRL's DPOTrainer with `precompute_ref_log_probs`): preference
 * pairs → tokens with the prompt stored once (tokenize's `render: { kind: 'preference' }`) → the
 * reference's summed log-probabilities of every answer (`ref-logprobs`, computed once and cached)
 * → train. The reference depends on the base and the tokens only, so changing `stage.beta`, the
 * loss or `args` re-runs train alone.
 */
export const dpoStage = defineStage({
  kind: 'dpo',
  summary: 'preference pairs (prompt, chosen, rejected) → the reference\'s log-probabilities, once → the DPO loss (sigmoid, ipo, hinge, robust)',
  build: async (b, recipe) => {
    await addPreferenceNodes(b, recipe)
    await b.add('ref-logprobs', ['model', 'tokenize'], { reads: warmStartReads(recipe, b.options) })
    return addPreferenceTrain(b, recipe, ['model', 'tokenize', 'ref-logprobs'])
  },
})
