import { warmStartReads } from '../graph/warm-start.ts'
import { addPreferenceNodes, addPreferenceTrain } from './preference-nodes.ts'
import { defineStage } from './stage.ts'

/**
 * Kahneman-Tversky Optimization (TRL's KTOTrainer with `precompute_ref_log_probs`): unpaired
 * examples (and pairs, unpaired as TRL does) → tokens with the prompt stored once → the reference's
 * summed log-probabilities of every completion and of every KL completion (`ref-logprobs`, once) →
 * train. The KL completions pair each example with its neighbour's completion within runs of
 * `args.batchSize` examples, so the batch size enters ref-logprobs' key; beta and the weights do not.
 */
export const ktoStage = defineStage({
  kind: 'kto',
  summary: 'unpaired examples (prompt, completion, desirable or not) → the reference\'s log-probabilities of each completion and KL completion, once → the KTO loss (kto, apo_zero_unpaired)',
  build: async (b, recipe) => {
    const { stage } = recipe
    if (stage.kind !== 'kto') throw new Error(`kto: built for stage ${stage.kind}`)
    await addPreferenceNodes(b, recipe)
    const klBatchSize = stage.lossType === 'kto' ? recipe.args.batchSize : undefined
    await b.add('ref-logprobs', ['model', 'tokenize'], { extra: { examples: 'unpaired', ...(klBatchSize ? { klBatchSize } : {}) }, reads: warmStartReads(recipe, b.options) })
    return addPreferenceTrain(b, recipe, ['model', 'tokenize', 'ref-logprobs'])
  },
})
