// The trainable variables of a prompt encoder (P-tuning, prefix tuning) on tfjs, keyed by PEFT's
// parameter names (`prompt_encoder.default.mlp_head.0.weight`), from a checkpoint or the start
// values @tunekit/hf draws for both backends; and the state's `saved` tensors, PEFT's
// `prompt_embeddings` (the encoder's output, computed without dropout).
import { PROMPT_EMBEDDINGS, PROMPT_ENCODER, type FloatTensor } from '@tunekit/hf'
import { tf } from '../engine.ts'

export interface EncoderVars {
  get1(name: string): tf.Variable<tf.Rank.R1>
  get2(name: string): tf.Variable<tf.Rank.R2>
  entries: Array<[string, tf.Variable]>
}

/** One variable per tensor of `start` whose key is an encoder parameter (a checkpoint's prompt_embeddings is not one). */
export function encoderVars(start: ReadonlyMap<string, FloatTensor>): EncoderVars {
  const entries: Array<[string, tf.Variable]> = [...start]
    .filter(([key]) => key.startsWith(PROMPT_ENCODER))
    .map(([key, t]) => [key, tf.variable(tf.tensor(t.data, [...t.shape]))])
  const byName = new Map(entries.map(([key, v]) => [key.slice(PROMPT_ENCODER.length), v]))
  const get = (name: string): tf.Variable => {
    const v = byName.get(name)
    if (!v) throw new Error(`the prompt encoder's start values have no ${PROMPT_ENCODER}${name}`)
    return v
  }
  return { get1: (name) => get(name) as tf.Variable<tf.Rank.R1>, get2: (name) => get(name) as tf.Variable<tf.Rank.R2>, entries }
}

/** `{ prompt_embeddings }`: the encoder's output [n, width] read back to the host. */
export function savedOutput(compute: () => tf.Tensor2D): () => Map<string, FloatTensor> {
  return () => {
    const out = compute()
    const t: FloatTensor = { shape: [...out.shape], data: out.dataSync() as Float32Array }
    out.dispose()
    return new Map([[PROMPT_EMBEDDINGS, t]])
  }
}
