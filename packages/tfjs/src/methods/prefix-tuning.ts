// Prefix tuning on tfjs: PEFT's PrefixEncoder gives the prefix [n, layers · 2 · kvDim], the trained
// embedding itself or, with `prefixProjection`, tanh-MLP(embedding [n, kvDim]); every layer's
// attention takes its slice as past keys and values (model/prefix.ts). The artifact is PEFT's: the
// prefix as `prompt_embeddings`, which `load` and generation use directly.
import { prefixWidth } from '@tunekit/core'
import { initialPromptEncoder, prefixTrained, PROMPT_EMBEDDINGS, type FloatTensor } from '@tunekit/hf'
import { tf } from '../engine.ts'
import { linearLayer } from '../model/prompt-encoder.ts'
import type { AdapterState } from './state.ts'
import { encoderVars, savedOutput } from './prompt-encoder-vars.ts'
import type { TfjsMethod, Trained } from './types.ts'

function prefixState(m: Trained<'prefix-tuning'>, start: ReadonlyMap<string, FloatTensor>): AdapterState {
  const vars = encoderVars(start)
  const embedding = vars.get2('embedding.weight')
  const layer = (x: tf.Tensor2D, i: number): tf.Tensor2D => linearLayer(x, vars.get2(`transform.${i}.weight`), vars.get1(`transform.${i}.bias`))
  // PrefixEncoder.forward: Linear(kvDim, e) → tanh → Linear(e, width), or the embedding as it is
  const prefix = m.prefixProjection ? () => tf.tidy(() => layer(tf.tanh(layer(embedding, 0)), 2)) : () => embedding
  return { lora: new Map(), prefix, saved: savedOutput(() => tf.clone(prefix())), scale: 0, dropout: 0, weights: new Map(), entries: vars.entries }
}

export const prefixTuning = {
  setup: async ({ model, method, seed, resumed }) => {
    const trained = prefixTrained(method, model.config)
    const start = resumed ?? initialPromptEncoder(trained, model.config, seed)
    return { state: prefixState(trained, start), trained }
  },
  load: (model, artifact) => {
    const t = artifact.tensors.get(PROMPT_EMBEDDINGS)
    if (!t) throw new Error(`the prefix-tuning adapter has no ${PROMPT_EMBEDDINGS}`)
    const prefix = tf.variable(tf.tensor2d(t.data, [t.shape[0]!, prefixWidth(model.config)]))
    return { lora: new Map(), prefix: () => prefix, scale: 0, dropout: 0, weights: new Map(), entries: [[PROMPT_EMBEDDINGS, prefix]] }
  },
  merge: () => Promise.reject(new Error('a prefix-tuning adapter cannot be merged; the graph has no merge node for it (PromptTuningMerge)')),
} satisfies TfjsMethod<'prefix-tuning'>
