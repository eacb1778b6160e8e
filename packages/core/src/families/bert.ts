import { fail } from '../errors/tunekit-error.ts'
import type { FamilyInfo, ModelConfig } from './types.ts'

// BERT (transformers' BertModel / BertForQuestionAnswering): learned absolute positions, token
// types, post-LayerNorm layers with biased linears and a GELU MLP. With a QA head the model has no
// pooler (`add_pooling_layer=False`) and ends in `qa_outputs` [hidden → 2] (start, end logits).

/**
 * Linear module names as PEFT matches them (suffix of the module path): `dense` is three modules
 * per layer (attention.output.dense [h→h], intermediate.dense [h→i], output.dense [i→h]).
 */
export const bertLinear = ['query', 'key', 'value', 'dense'] as const
/** Modules `modulesToSave` can hold: the QA head (PEFT's question-answering task saves it) and the word embeddings. */
export const bertSaveable = ['qa_outputs', 'word_embeddings'] as const
export type BertLinear = (typeof bertLinear)[number]
export type BertSaveable = (typeof bertSaveable)[number]

/** BertConfig's defaults for the fields checkpoints sometimes leave out (transformers' configuration_bert.py). */
const BERT_DEFAULTS = { maxPositionEmbeddings: 512, typeVocabSize: 2, layerNormEps: 1e-12, padTokenId: 0, initializerRange: 0.02 }

export function readBertConfig(json: Record<string, unknown>): ModelConfig {
  const num = (key: string, fallback?: number): number => {
    const v = json[key]
    if (typeof v === 'number') return v
    if (fallback !== undefined) return fallback
    return fail('BadModelConfig', v === undefined ? { path: key } : { path: key, value: v }, key, 'bert')
  }
  const act = json.hidden_act ?? 'gelu'
  if (act !== 'gelu') fail('UnsupportedActivation', { path: 'hidden_act', value: act }, 'config.json', act)
  const heads = num('num_attention_heads')
  const hidden = num('hidden_size')
  const eps = num('layer_norm_eps', BERT_DEFAULTS.layerNormEps)
  return {
    modelType: 'bert',
    vocabSize: num('vocab_size'),
    hiddenSize: hidden,
    intermediateSize: num('intermediate_size'),
    numHiddenLayers: num('num_hidden_layers'),
    numAttentionHeads: heads,
    numKeyValueHeads: heads, // no grouped-query attention
    headDim: hidden / heads,
    maxPositionEmbeddings: num('max_position_embeddings', BERT_DEFAULTS.maxPositionEmbeddings),
    rmsNormEps: eps, // the planner's norm epsilon; BERT's norms are LayerNorms with this epsilon
    ropeTheta: 0, // absolute learned positions, no rotary embedding
    tieWordEmbeddings: false,
    slidingWindow: null,
    attentionBias: true, // every BERT linear has a bias
    bosTokenId: null,
    eosTokenId: null,
    encoder: {
      typeVocabSize: num('type_vocab_size', BERT_DEFAULTS.typeVocabSize),
      layerNormEps: eps,
      hiddenAct: 'gelu',
      padTokenId: num('pad_token_id', BERT_DEFAULTS.padTokenId),
      initializerRange: num('initializer_range', BERT_DEFAULTS.initializerRange),
    },
  }
}

export function writeBertConfig(c: ModelConfig): Record<string, unknown> {
  const e = c.encoder ?? { typeVocabSize: BERT_DEFAULTS.typeVocabSize, layerNormEps: c.rmsNormEps, hiddenAct: 'gelu', padTokenId: BERT_DEFAULTS.padTokenId, initializerRange: BERT_DEFAULTS.initializerRange }
  return {
    architectures: ['BertForQuestionAnswering'],
    model_type: 'bert',
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    num_hidden_layers: c.numHiddenLayers,
    num_attention_heads: c.numAttentionHeads,
    intermediate_size: c.intermediateSize,
    hidden_act: e.hiddenAct,
    max_position_embeddings: c.maxPositionEmbeddings,
    type_vocab_size: e.typeVocabSize,
    layer_norm_eps: e.layerNormEps,
    pad_token_id: e.padTokenId,
    position_embedding_type: 'absolute',
    initializer_range: e.initializerRange,
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    torch_dtype: 'float32',
  }
}

/** `[in, out]` of each module a name matches in one layer. */
export function bertLinearShapes(c: ModelConfig, module: BertLinear): ReadonlyArray<readonly [number, number]> {
  const h = c.hiddenSize
  switch (module) {
    case 'query': case 'key': case 'value': return [[h, h]]
    case 'dense': return [[h, h], [h, c.intermediateSize], [c.intermediateSize, h]]
  }
}

const linearParams = (c: ModelConfig, m: BertLinear): number => bertLinearShapes(c, m).reduce((n, [i, o]) => n + i * o + o, 0) // + bias

export const bertFamily: FamilyInfo<BertLinear, BertSaveable> = {
  name: 'bert',
  kind: 'encoder',
  architecture: 'BertForQuestionAnswering',
  linearModules: bertLinear,
  saveableModules: bertSaveable,
  defaultTargetModules: ['query', 'value'], // PEFT's table for bert
  readConfig: readBertConfig,
  writeConfig: writeBertConfig,
  // One shape per name is what decoder-shaped callers expect; `dense` answers its first module
  // (attention output, [h→h]) there, and linearShapes lists all three.
  linearShape: (c, m) => bertLinearShapes(c, m)[0]!,
  linearShapes: bertLinearShapes,
  moduleParams: (c, m) => {
    if (m === 'qa_outputs') return c.hiddenSize * 2 + 2
    if (m === 'word_embeddings') return c.vocabSize * c.hiddenSize
    return linearParams(c, m)
  },
  totalParams: (c) => {
    const h = c.hiddenSize
    const types = c.encoder?.typeVocabSize ?? BERT_DEFAULTS.typeVocabSize
    const embeddings = (c.vocabSize + c.maxPositionEmbeddings + types) * h + 2 * h // + LayerNorm
    const perLayer = bertLinear.reduce((n, m) => n + linearParams(c, m), 0) + 2 * 2 * h // + 2 LayerNorms
    return embeddings + c.numHiddenLayers * perLayer + h * 2 + 2 // + qa_outputs
  },
}
