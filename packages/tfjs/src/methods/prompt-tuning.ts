// Prompt tuning on tfjs: one trainable [numVirtualTokens, hidden] variable, PEFT's
// `prompt_embeddings`, that forwardHidden and generation put before every row (model/virtual-tokens.ts).
// Its start values are @tunekit/hf's initialPromptEmbeddings (the torch worker loads the same).
// Nothing merges: the graph has no merge node for this method.
import { join } from 'node:path'
import { loadTokenizer } from '@tunekit/data'
import { initialPromptEmbeddings, PROMPT_EMBEDDINGS, promptTextIds, type FloatTensor } from '@tunekit/hf'
import { tf } from '../engine.ts'
import type { DecoderModel } from '../model/types.ts'
import type { AdapterState } from './state.ts'
import type { TfjsMethod } from './types.ts'

export function promptState(model: DecoderModel, tensors: ReadonlyMap<string, FloatTensor>): AdapterState {
  const init = tensors.get(PROMPT_EMBEDDINGS)
  if (!init) throw new Error(`the prompt-tuning adapter has no ${PROMPT_EMBEDDINGS}`)
  const prompt = tf.variable(tf.tensor2d(init.data, [init.shape[0]!, model.config.hiddenSize]))
  return { lora: new Map(), prompt, scale: 0, dropout: 0, weights: new Map(), entries: [[PROMPT_EMBEDDINGS, prompt]] }
}

export const promptTuning = {
  setup: async ({ model, method, seed, tokenizeDir, resumed }) => {
    const textIds = method.promptTuningInit === 'TEXT' ? promptTextIds(await loadTokenizer(join(tokenizeDir, 'tokenizer')), method.promptTuningInitText ?? '') : undefined
    const initial = resumed ?? await initialPromptEmbeddings({
      numVirtualTokens: method.numVirtualTokens, hiddenSize: model.config.hiddenSize, seed, textIds,
      embedding: async () => ({ shape: model.embed.shape, data: (await model.embed.data()) as Float32Array }),
    })
    const { kind: _kind, ...options } = method
    const { hiddenSize, numAttentionHeads, numHiddenLayers } = model.config
    return { state: promptState(model, initial), trained: { kind: 'prompt-tuning', ...options, shape: { hiddenSize, numAttentionHeads, numHiddenLayers } } }
  },
  load: (model, artifact) => promptState(model, artifact.tensors),
  merge: () => Promise.reject(new Error('a prompt-tuning adapter cannot be merged; the graph has no merge node for it (PromptTuningMerge)')),
} satisfies TfjsMethod<'prompt-tuning'>
