// BertForQuestionAnswering's weights in transformers' names and state-dict order, with how
// `BertPreTrainedModel._init_weights` initialises them: linear and embedding weights normal(0,
// initializer_range) (the word embeddings' padding row 0), biases 0, LayerNorm weights 1 and
// biases 0. No pooler: the QA model is built with `add_pooling_layer=False`. A pretrained checkpoint
// (bert-base-uncased: BertForPreTraining, its LayerNorms saved as gamma / beta) is read under the
// names transformers still loads (`aliases`), and its missing `qa_outputs` is a fresh head.
import type { ModelConfig } from '@tunekit/core'
import { biasedLinear as linear, layerNorm, type WeightSpec } from './weight-spec.ts'


export function bertWeightSpecs(c: ModelConfig): WeightSpec[] {
  const h = c.hiddenSize
  const i = c.intermediateSize
  const types = c.encoder?.typeVocabSize ?? 2
  const specs: WeightSpec[] = [
    // nn.Embedding(padding_idx=pad_token_id): _init_weights zeroes that row, and it never trains
    { name: 'bert.embeddings.word_embeddings.weight', shape: [c.vocabSize, h], init: 'normal', zeroRow: c.encoder?.padTokenId ?? 0 },
    { name: 'bert.embeddings.position_embeddings.weight', shape: [c.maxPositionEmbeddings, h], init: 'normal' },
    { name: 'bert.embeddings.token_type_embeddings.weight', shape: [types, h], init: 'normal' },
    ...layerNorm('bert.embeddings.LayerNorm', h),
  ]
  for (let l = 0; l < c.numHiddenLayers; l++) {
    const p = `bert.encoder.layer.${l}`
    specs.push(
      ...linear(`${p}.attention.self.query`, h, h),
      ...linear(`${p}.attention.self.key`, h, h),
      ...linear(`${p}.attention.self.value`, h, h),
      ...linear(`${p}.attention.output.dense`, h, h),
      ...layerNorm(`${p}.attention.output.LayerNorm`, h),
      ...linear(`${p}.intermediate.dense`, h, i),
      ...linear(`${p}.output.dense`, i, h),
      ...layerNorm(`${p}.output.LayerNorm`, h),
    )
  }
  specs.push(...linear('qa_outputs', h, 2).map((s): WeightSpec => ({ ...s, fresh: true }))) // [start, end] logits
  return specs.map((s) => (s.name.startsWith('bert.') ? { ...s, aliases: oldNames(s.name) } : s))
}

/** transformers' fallbacks for a BERT weight: without the `bert.` prefix, LayerNorm gamma / beta. */
function oldNames(name: string): string[] {
  const bare = name.slice('bert.'.length)
  const old = (n: string): string | undefined => (n.includes('LayerNorm.') ? n.replace(/\.weight$/, '.gamma').replace(/\.bias$/, '.beta') : undefined)
  return [bare, old(name), old(bare)].filter((n): n is string => n !== undefined)
}
