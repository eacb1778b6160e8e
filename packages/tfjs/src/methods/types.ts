import type { MethodKind, MethodOf } from '@tunekit/core'
import type { FloatTensor, ReadArtifact, TrainedMethod } from '@tunekit/hf'
import type { MergeOptions } from '../merge.ts'
import type { DecoderModel } from '../model/types.ts'
import type { AdapterState } from './state.ts'

/** The trained-method description of kind `K` (what a train artifact says about how it was trained). */
export type Trained<K extends MethodKind> = Extract<TrainedMethod, { kind: K }>

/** What a method's tfjs setup needs from the train node. */
export interface SetupInput<K extends MethodKind> {
  model: DecoderModel
  method: MethodOf<K>
  /** The base model folder (start values of trained tensors). */
  modelDir: string
  /** Ids of the embedding rows LoRA's `trainableTokens` trains (the tokenize node resolved them). */
  trainableTokenIds: readonly number[]
  /** `args.seed`. */
  seed: number
  /** The recipe's folder: a warm start's `lora.init` folder resolves from here. */
  baseDir: string
  /** The tokenize artifact (its tokenizer/: prompt tuning's TEXT init). */
  tokenizeDir: string
  /** A checkpoint's trained tensors, under the method's artifact keys. */
  resumed: ReadonlyMap<string, FloatTensor> | undefined
}

/**
 * How one method trains on the tfjs backend: its trainable state on a loaded model (the forward
 * pass reads it, model/decoder.ts), the state of a written artifact, and its merge.
 */
export interface TfjsMethod<K extends MethodKind> {
  setup(input: SetupInput<K>): Promise<{ state: AdapterState; trained: Trained<K> }>
  /** The trained state of an artifact on a base model (generation without merging). */
  load(model: DecoderModel, artifact: { method: Trained<K>; tensors: ReadonlyMap<string, FloatTensor> }): AdapterState
  merge(o: Omit<MergeOptions, 'adapter'> & { artifact: ReadArtifact & { method: Trained<K> } }): Promise<void>
}
