import { addPreferenceNodes, addPreferenceTrain } from './preference-nodes.ts'
import { defineStage } from './stage.ts'

/**
 * Simple Preference Optimization as TRL runs it (CPOTrainer, `loss_type='simpo'`): preference pairs
 * → tokens with the prompt stored once → train on −log σ(β·(length-averaged log-ratio) − γ), plus
 * `cpoAlpha` times the chosen answer's NLL. No reference model, so no `ref-logprobs` node.
 */
export const simpoStage = defineStage({
  kind: 'simpo',
  summary: 'preference pairs (prompt, chosen, rejected) → the SimPO loss on length-averaged log-probabilities (margin γ), no reference model',
  build: async (b, recipe) => {
    await addPreferenceNodes(b, recipe)
    return addPreferenceTrain(b, recipe, ['model', 'tokenize'])
  },
})
