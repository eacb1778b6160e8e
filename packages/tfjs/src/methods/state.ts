import type { FloatTensor } from '@tunekit/hf'
import type { tf, Var2D } from '../engine.ts'
import type { LoraPair } from '../model/linear.ts'
import { layerLinears, type DecoderModel, type Linear } from '../model/types.ts'

/**
 * What a method trains on one model, as the forward pass reads it. Every tensor here is a
 * variable; the frozen model is never changed. LoRA fills `lora` (and the saved modules / token
 * rows); full and freeze fill `weights`, trained copies of base tensors used in their place.
 */
export interface AdapterState {
  /** LoRA pairs by module path, e.g. `model.layers.0.self_attn.q_proj`. */
  lora: Map<string, LoraPair>
  /** IA³'s vectors by module path: [out, 1] scales the output, [1, in] (`feedforward`) the input. */
  ia3?: Map<string, { vector: tf.Variable; feedforward: boolean }>
  /** Prompt tuning's virtual-token embeddings [n, hidden], prepended to every row (model/virtual-tokens.ts). */
  prompt?: Var2D
  /** P-tuning: the prompt encoder, computing the virtual-token embeddings [n, hidden] from its variables (`training`: dropout on). */
  promptEncoder?: (training: boolean) => tf.Tensor2D
  /** Prefix tuning: the prefix [n, layers · 2 · kvDim] (layer 0's keys, its values, layer 1's keys, …), from its variables. */
  prefix?: (training: boolean) => tf.Tensor2D
  /** Tensors written beside (and in the artifact instead of) `entries`: P-tuning's and prefix tuning's `prompt_embeddings`. */
  saved?: () => Map<string, FloatTensor>
  /** `alpha / rank` (or `/ sqrt(rank)` with rsLoRA); 0 without LoRA. */
  scale: number
  /** Dropout on LoRA's input while training. */
  dropout: number
  /** Trained embedding [vocab, hidden] (LoRA's saved module, or the base's own under full / freeze). */
  embed?: Var2D
  /** Trained lm_head [vocab, hidden]; the `embed` variable itself when tied embeddings train. */
  lmHead?: Var2D
  /** The reward head `score.weight` [1, hidden], LoRA's saved module (the rm stage); full fine-tuning keeps it in `weights`. */
  score?: Var2D
  /** `trainableTokens`: the trained rows of the embedding, [ids.length, hidden]. */
  tokens?: { ids: Int32Array; rows: Var2D; index: Map<number, number> }
  /** Full / freeze: trained base tensors by transformers name (`model.layers.1.mlp.up_proj.weight` [out, in]). */
  weights: Map<string, tf.Variable>
  /** The trainable variables by artifact key, in a fixed order (the optimizer state follows it). */
  entries: Array<[string, tf.Variable]>
  /**
   * Tensors the train artifact holds beside the trained ones, host copies by transformers name
   * (LLaMA Pro's expanded model: every tensor that does not train). Checkpoints hold `entries` only.
   */
  artifactExtra?: ReadonlyMap<string, FloatTensor>
  /** PiSSA's start values A0, B0 by PEFT key: the artifact is written converted against them (@tunekit/hf's convertedArtifact). */
  pissaStart?: ReadonlyMap<string, FloatTensor>
}

/** Every linear module of the model, in layer order. */
export function linearModules(model: DecoderModel): Linear[] {
  return model.layers.flatMap(layerLinears)
}

/** The trainable variables in a fixed order (the optimizer state follows it). */
export function trainableEntries(state: AdapterState): Array<[string, tf.Variable]> {
  return state.entries
}

/**
 * Current trained tensors under their artifact keys, read back to the host, with the method's
 * `saved` ones; `artifact`: only those where the method has them (PEFT's prompt-learning layout
 * saves the encoder's output, a checkpoint keeps the encoder too, to resume).
 */
export function adapterTensors(state: AdapterState, o: { artifact?: boolean } = {}): Map<string, FloatTensor> {
  const saved = state.saved?.()
  if (saved && o.artifact) return saved
  const out = new Map<string, FloatTensor>()
  for (const [key, v] of state.entries) out.set(key, { shape: [...v.shape], data: v.dataSync() as Float32Array })
  for (const [key, t] of saved ?? []) out.set(key, t)
  return out
}

/** Number of trainable values. */
export function trainableCount(state: AdapterState): number {
  return state.entries.reduce((n, [, v]) => n + v.size, 0)
}

export function disposeAdapter(state: AdapterState): void {
  for (const [, v] of state.entries) v.dispose()
}
