import { addPreferenceNodes, addPreferenceTrain } from './preference-nodes.ts'
import { defineStage } from './stage.ts'

/**
 * Odds Ratio Preference Optimization (TRL's ORPOTrainer): preference pairs → tokens with the prompt
 * stored once → train on the chosen sequence's NLL plus λ·(−log σ(log-odds ratio)). No reference
 * model, so no `ref-logprobs` node: the policy alone scores both answers in one forward pass.
 */
export const orpoStage = defineStage({
  kind: 'orpo',
  summary: 'preference pairs (prompt, chosen, rejected) → the chosen NLL plus λ·odds-ratio loss, no reference model',
  build: async (b, recipe) => {
    await addPreferenceNodes(b, recipe)
    return addPreferenceTrain(b, recipe, ['model', 'tokenize'])
  },
})
