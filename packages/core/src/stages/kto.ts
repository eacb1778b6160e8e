import { warmStartReads } from '../graph/warm-start.ts'
import { addSourceNodes } from './data-nodes.ts'
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
    const { data, stage } = recipe
    await addSourceNodes(b, recipe)
    if (data.template === undefined) throw new Error('kto: a recipe reached compile without data.template (parseRecipe fills it from the stage)')
    if (stage.kind !== 'kto') throw new Error(`kto: built for stage ${stage.kind}`)
    const render = { kind: 'preference' as const, template: data.template, maxPromptLength: data.maxPromptLength }
    await b.add('tokenize', ['format', 'model'], { extra: { render } })
    const klBatchSize = stage.lossType === 'kto' ? recipe.args.batchSize : undefined
    await b.add('ref-logprobs', ['model', 'tokenize'], { extra: { examples: 'unpaired', ...(klBatchSize ? { klBatchSize } : {}) }, reads: warmStartReads(recipe, b.options) })
    return b.add('train', ['model', 'tokenize', 'ref-logprobs'], { extra: { objective: stage }, reads: warmStartReads(recipe, b.options) })
  },
})
