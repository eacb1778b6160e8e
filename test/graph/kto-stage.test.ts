// The kto stage: its graph and keys, the checks that refuse what KTOTrainer refuses, the order its
// examples and KL completions take (TRL's unpair_preference_dataset and add_kl_completion_ids), TRL's
// advice on unbalanced weights and the progress line. TRL parity is test/trl/kto.test.ts.
import { describe, expect, it } from 'vitest'
import { compile, defineRecipe, describeEvent, formatIssue, inline, type Graph } from '@tunekit/core'
import { klCompletionOf, ktoWeightAdvice, requireKtoExamples, unpairPreferences, type PreferencePair, type UnpairedExample } from '@tunekit/data'
import { tempDir } from './helpers.ts'

const model = { id: 'tunekit/tiny-mistral', family: 'mistral', random: { seed: 1 } } as const
const examples = [{ prompt: 'hot?', completion: 'cold', label: true }, { prompt: 'up?', completion: 'up', label: false }]
const kto = (stage: { beta?: number; desirableWeight?: number; lossType?: 'kto' | 'apo_zero_unpaired' }, batchSize = 2) =>
  defineRecipe({ model, stage: { kind: 'kto', ...stage }, data: { source: inline(examples), format: 'openai' }, args: { shuffle: false, batchSize } })
const keys = (g: Graph) => Object.fromEntries(g.nodes.map((n) => [n.id, n.key]))
const paramsOf = (g: Graph, id: string) => g.nodes.find((n) => n.id === id)!.params

describe('the kto stage', () => {
  it("examples → the reference's log-probabilities of completions and KL completions once → train; beta and the weights change train's key only, the batch size ref-logprobs' too", async () => {
    const recipe = kto({})
    expect(recipe.stage).toEqual({ kind: 'kto', beta: 0.1, desirableWeight: 1, undesirableWeight: 1, lossType: 'kto' })
    const baseDir = tempDir('kto-stage')
    const g = await compile(recipe, { baseDir })
    expect(g.nodes.map((n) => [n.id, n.inputs])).toEqual([
      ['model', []], ['source', []], ['format', ['source']], ['tokenize', ['format', 'model']], ['ref-logprobs', ['model', 'tokenize']],
      ['train', ['model', 'tokenize', 'ref-logprobs']], ['merge', ['model', 'train', 'tokenize']],
    ])
    expect(paramsOf(g, 'ref-logprobs')).toEqual({ backend: 'auto', device: 'auto', dtype: 'auto', examples: 'unpaired', klBatchSize: 2 })
    expect(paramsOf(g, 'train').objective).toEqual(recipe.stage)
    const before = keys(g)
    const changed = async (r: ReturnType<typeof kto>) => {
      const after = keys(await compile(r, { baseDir }))
      return Object.keys(after).filter((id) => after[id] !== before[id])
    }
    expect(await changed(kto({ beta: 0.5 }))).toEqual(['train', 'merge'])
    expect(await changed(kto({ desirableWeight: 1.3 }))).toEqual(['train', 'merge'])
    // the KL completions rotate within batches: another batch size is another reference
    expect(await changed(kto({}, 3))).toEqual(['ref-logprobs', 'train', 'merge'])
    // APO-zero has no KL term: no KL completions to score
    expect(paramsOf(await compile(kto({ lossType: 'apo_zero_unpaired' }), { baseDir }), 'ref-logprobs')).toEqual({ backend: 'auto', device: 'auto', dtype: 'auto', examples: 'unpaired' })
  })

  it('keeps record order by default, refuses shuffled batches and batches of one for the KL term (as KTOTrainer), and an eval group', () => {
    // args.shuffle defaults to false for kto (TRL's KTOConfig samples sequentially)
    expect(defineRecipe({ model, stage: { kind: 'kto' }, data: { source: inline(examples), format: 'openai' } }).args.shuffle).toBe(false)
    expect(() => defineRecipe({ model, stage: { kind: 'kto' }, data: { source: inline(examples), format: 'openai' }, args: { batchSize: 1, shuffle: true }, eval: { metrics: ['exact'] } })).toThrowErrorMatchingInlineSnapshot(`
      [RecipeError: Recipe has 3 problems
      ✖ TK470 stage kto estimates its KL term from each batch's examples paired with their neighbours' completions, fixed in record order before training (as TRL's KTOTrainer fixes them), and args.shuffle reorders the batches every epoch, so the KL pairs would no longer come from the batch they are used in → at args.shuffle
        value: true
        fix: Set args.shuffle: false (TRL's KTOConfig defaults to train_sampling_strategy 'sequential' for this reason; shuffle the data file once beforehand if it is sorted), or use stage.lossType: 'apo_zero_unpaired', which has no KL term.
      ✖ TK471 stage kto pairs each example with another example's completion of its batch to estimate the KL term, and args.batchSize 1 leaves none: the KL estimate would be the example's own reward → at args.batchSize
        value: 1
        fix: Set args.batchSize to 2 or more (the micro-batch, not the effective batch: TRL's KTOTrainer requires the same), or use stage.lossType: 'apo_zero_unpaired'.
      ✖ TK441 eval scores the assistant turns of held-out conversations, and stage "kto" holds out no conversations: it trains on every preference pair → at eval
        value: {"metrics":["exact"],"examples":"all","maxNewTokens":128,...
        fix: Remove the eval group from this recipe, or score the model in an sft recipe's eval group.]
    `)
    // APO-zero needs neither
    expect(defineRecipe({ model, stage: { kind: 'kto', lossType: 'apo_zero_unpaired' }, data: { source: inline(examples), format: 'openai' }, args: { batchSize: 1, shuffle: true } }).args.shuffle).toBe(true)
  })
})

const ids = (...v: number[]) => Int32Array.from(v)
const pair = (i: number): PreferencePair => ({ record: `r${i}`, promptIds: ids(i), chosenIds: ids(100 + i), chosenLabels: Uint8Array.of(1), rejectedIds: ids(200 + i), rejectedLabels: Uint8Array.of(1) })

describe("kto's examples as KTOTrainer prepares them", () => {
  it("pairs unpair in batches of 1000 (datasets' map): a batch's chosen answers, then its rejected ones", () => {
    const out = unpairPreferences(Array.from({ length: 1002 }, (_, i) => pair(i)))
    const at = (k: number) => [out[k]!.record, out[k]!.completionIds[0], out[k]!.desirable, out[k]!.source]
    expect([at(0), at(999), at(1000), at(1999), at(2000), at(2001), at(2003)]).toEqual([
      ['r0', 100, true, ['pairs', 0, 'chosen']], ['r999', 1099, true, ['pairs', 999, 'chosen']], ['r0', 200, false, ['pairs', 0, 'rejected']],
      ['r999', 1199, false, ['pairs', 999, 'rejected']], ['r1000', 1100, true, ['pairs', 1000, 'chosen']], ['r1001', 1101, true, ['pairs', 1001, 'chosen']],
      ['r1001', 1201, false, ['pairs', 1001, 'rejected']],
    ])
  })

  it('a tokenize artifact with neither pairs nor unpaired examples: NoKtoExamples (TK473)', async () => {
    await expect(requireKtoExamples(tempDir('kto-empty'))).rejects.toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: The kto stage found no examples
      ✖ TK473 stage kto trains on examples of a prompt and a completion labelled desirable or not (or on preference pairs, unpaired), but the tokenized data holds neither → at data.format
        fix: Give records with a completion and a true/false label (TRL's { prompt, completion, label }, LLaMA-Factory's kto_tag; docs/data-formats.md) or preference pairs, or train with stage { kind: 'sft' }.]
    `)
  })

  it('KL completions rotate by one within each batch, the last batch shorter: (x1, y_n), (x2, y1), …', () => {
    expect(klCompletionOf(7, 3)).toEqual([2, 0, 1, 5, 3, 4, 6])
    expect(klCompletionOf(4, 4)).toEqual([3, 0, 1, 2])
  })

  it("TRL's advice on the weights (Eq. 8 bounds, rounded to 2 digits): a warning when neither weight is in its range", () => {
    const data = (desirable: number, undesirable: number): UnpairedExample[] =>
      [...Array.from({ length: desirable }, () => true), ...Array.from({ length: undesirable }, () => false)].map((d, i) => ({ record: `r${i}`, promptIds: ids(1), completionIds: ids(2), labels: Uint8Array.of(1), desirable: d }))
    expect(ktoWeightAdvice(data(3, 3), 1, 1)).toBeUndefined()
    // 3 desirable, 6 undesirable: desirableWeight in [2, 2.66] or undesirableWeight in [0.38, 0.5]
    expect(ktoWeightAdvice(data(3, 6), 2.5, 1)).toBeUndefined()
    expect(ktoWeightAdvice(data(3, 6), 1, 0.5)).toBeUndefined()
    expect(formatIssue(ktoWeightAdvice(data(3, 6), 1, 1)!)).toMatchInlineSnapshot(`
      "⚠ TK472 the data holds 3 desirable and 6 undesirable examples; with these counts KTO's paper (Eq. 8) suggests stage.desirableWeight in [2, 2.66] or stage.undesirableWeight in [0.38, 0.5], and neither weight is in its range → at stage.desirableWeight
        value: 1
        fix: Set one of stage.desirableWeight or stage.undesirableWeight (not both) in the range above, so that the two kinds of examples weigh about equally (TRL's KTOTrainer gives the same advice)."
    `)
  })

  it('the progress line of a kto step shows the KL estimate, and the margin when the step has both sides', () => {
    const step = { type: 'step', time: 0, node: 'train', step: 2, totalSteps: 3, epoch: 1, loss: 0.62, learningRate: 1e-2, gradNorm: 0.04, tokensPerSecond: 100 } as const
    expect(describeEvent({ ...step, metrics: { kl: 0.22, 'rewards/chosen': 0.05, 'rewards/rejected': 0.03, 'rewards/margins': 0.02 } })).toMatchInlineSnapshot(`"  train step 2/3 epoch 1.00 loss 0.6200 kl 0.2200 margin 0.0200 lr 1.00e-2 grad 0.040 100 tok/s"`)
    expect(describeEvent({ ...step, metrics: { kl: 0, 'rewards/chosen': 0.05 } })).toMatchInlineSnapshot(`"  train step 2/3 epoch 1.00 loss 0.6200 kl 0.0000 lr 1.00e-2 grad 0.040 100 tok/s"`)
  })
})
