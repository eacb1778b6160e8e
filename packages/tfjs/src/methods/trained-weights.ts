import type { FloatTensor } from '@tunekit/hf'
import { tf, type Var2D } from '../engine.ts'
import type { DecoderModel } from '../model/types.ts'
import type { AdapterState } from './state.ts'

/**
 * A state that trains base tensors themselves (full, freeze): one variable per name, from
 * `initial` (a checkpoint, or the base weights). The forward pass uses `weights` in place of the
 * frozen tensors; the embedding and lm_head go through `embed` / `lmHead`, and with tied
 * embeddings a trained `model.embed_tokens.weight` is lm_head as well (one variable, as in torch).
 */
export function trainedWeightsState(model: DecoderModel, names: readonly string[], initial: (name: string) => FloatTensor): AdapterState {
  const weights = new Map<string, tf.Variable>()
  const entries: Array<[string, tf.Variable]> = []
  for (const name of names) {
    const t = initial(name)
    const v = tf.variable(tf.tensor(t.data, [...t.shape]))
    weights.set(name, v)
    entries.push([name, v])
  }
  const embed = weights.get('model.embed_tokens.weight') as Var2D | undefined
  const head = (weights.get('lm_head.weight') as Var2D | undefined) ?? (model.config.tieWordEmbeddings ? embed : undefined)
  return { lora: new Map(), scale: 0, dropout: 0, weights, entries, ...(embed ? { embed } : {}), ...(head ? { lmHead: head } : {}) }
}

/** Reads the start value of each trained tensor from a reader of the base folder (rows grown to the vocabulary). */
export async function startValues(names: readonly string[], read: (name: string) => Promise<FloatTensor>): Promise<Map<string, FloatTensor>> {
  const out = new Map<string, FloatTensor>()
  for (const name of names) out.set(name, await read(name))
  return out
}
