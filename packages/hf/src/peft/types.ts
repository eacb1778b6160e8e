import type { FreezeOptions, MethodKind, ModelConfig } from '@tunekit/core'
import type { FloatTensor } from '../safetensors.ts'
import type { AdapterBase } from './lora-check.ts'
import type { LoraSpec } from './lora-keys.ts'

/** What a train artifact says about its method, in tunekit's words (each layout writes it its way). */
export type TrainedMethod =
  | { kind: 'lora'; spec: LoraSpec }
  /** Every weight trained; `config` is the trained model's config.json (vocabulary grown by added tokens). */
  | { kind: 'full'; config: ModelConfig }
  /** Some weights trained; `tensors` of the artifact are exactly those. */
  | { kind: 'freeze'; options: Omit<FreezeOptions, 'kind'>; config: ModelConfig }
  /** IA³'s modules as PEFT's config lists them (the family's defaults resolved). */
  | { kind: 'ia3'; targetModules: readonly string[]; feedforwardModules: readonly string[] }
  /** Prompt tuning: the options and the numbers of the model its adapter_config.json records. */
  | { kind: 'prompt-tuning'; numVirtualTokens: number; promptTuningInit: 'RANDOM' | 'TEXT'; promptTuningInitText?: string; shape: PromptShape }
  /** P-tuning: PromptEncoderConfig's options (encoder width resolved) and the model's numbers. */
  | { kind: 'p-tuning'; numVirtualTokens: number; encoderReparameterizationType: 'MLP' | 'LSTM'; encoderHiddenSize: number; encoderNumLayers: number; encoderDropout: number; shape: PromptShape }
  /** Prefix tuning: PrefixTuningConfig's options (encoder width resolved) and its prefix shape. */
  | { kind: 'prefix-tuning'; numVirtualTokens: number; prefixProjection: boolean; encoderHiddenSize: number; shape: PrefixShape }
  /** LLaMA Pro: `config` is the expanded model's config.json (more layers, vocabulary grown by added tokens). */
  | { kind: 'llama-pro'; numExpandedBlocks: number; config: ModelConfig }

/** What PEFT's prompt-learning config records of the model (token_dim, num_attention_heads, num_layers). */
export type PromptShape = Pick<ModelConfig, 'hiddenSize' | 'numAttentionHeads' | 'numHiddenLayers'>

/** What PEFT's PrefixTuningConfig records: token_dim = headDim · kv heads, num_attention_heads = kv heads, num_layers. */
export interface PrefixShape {
  tokenDim: number
  numAttentionHeads: number
  numHiddenLayers: number
}

/** A train artifact or checkpoint to write: the trained tensors and the method that made them. */
export interface TrainArtifact<M extends TrainedMethod = TrainedMethod> {
  method: M
  /** LoRA: by PEFT key (`loraKey`, …); full and freeze: by transformers name (`model.layers.0.mlp.up_proj.weight`). */
  tensors: ReadonlyMap<string, FloatTensor>
  family: string
  /** `base_model_name_or_path`: the hub id or folder of the base model. */
  baseModel: string | null
  revision?: string | null
}

/** A train artifact read back. */
export interface ReadArtifact {
  method: TrainedMethod
  tensors: Map<string, FloatTensor>
}

/**
 * How one method lays out its train artifact on disk, for both backends (the torch worker writes
 * the same files). `read` answers undefined for a folder that is another method's.
 */
export interface MethodLayout<K extends MethodKind> {
  /** The files `write` puts in the folder (besides trainer_state.json, tokenizer/). */
  files: readonly string[]
  write(dir: string, artifact: TrainArtifact<Extract<TrainedMethod, { kind: K }>>): Promise<void>
  /** `base`: the model the artifact is applied to, checked against it where the layout can (LoRA). */
  read(dir: string, base?: AdapterBase): Promise<ReadArtifact | undefined>
}
