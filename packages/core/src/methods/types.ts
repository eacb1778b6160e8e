import type { z } from 'zod'
import type { Issue } from '../errors/tunekit-error.ts'
import type { FamilyInfo, ModelConfig } from '../families/types.ts'
import type { VisionTraining } from '../schema/model.ts'

/** What a method's counts and checks see of the model: the family and its config, vocabulary grown by the added tokens. */
export interface MethodModel {
  family: FamilyInfo
  /** config.json numbers with `vocabSize` already including the recipe's added tokens. */
  config: ModelConfig
  addedTokens: number
  /** `model.vision` of a vision-language model (undefined: the tower frozen, the projector and language model trained). */
  vision?: VisionTraining | undefined
}

/** What a method's checks know before any file is read. */
export interface CheckModel {
  family: FamilyInfo
  /** `model.quantize` is set. */
  quantized: boolean
  /** The tokens the recipe adds (ChatML's and `tokens.add`). */
  addedTokens: readonly string[]
  /** Decoder layers, when known before any file is read (a random model's config, a known checkpoint). */
  numLayers?: number
}

/** Trainable parameters of a method, PEFT's `print_trainable_parameters` count. */
export interface TrainableCount {
  /** Values that receive gradients and optimizer states. */
  trainable: number
  /**
   * `true` when the trained tensors are the base's own (full, freeze): they are not added to the
   * base count, and the torch backend holds them once (float32) instead of beside a frozen copy.
   */
  inBase: boolean
  /** The count split by part, for `tunekit plan` (e.g. `{ lora, modulesToSave, trainableTokens }`). */
  parts: Record<string, number>
  /**
   * Values the train artifact holds (float32), where that is not `trainable`: LoftQ's replaced base
   * weights beside the adapter, the prompt P-tuning and projected prefix tuning save (the encoder's
   * output, not the encoder). Plan's disk estimate reads it; checkpoints hold the trainable tensors.
   */
  artifact?: number
}

/** Per-token activation bytes the method adds to the frozen-model formula (docs/memory-planning.md). */
export interface ActivationContext extends MethodModel {
  /** Bytes per value of the compute dtype. */
  computeBytes: number
  attention: 'sdpa' | 'eager'
  /** Bytes of one dropout mask value on the device. */
  maskBytes: number
}

/**
 * One training method in core: its options (the zod schema, the only definition), the checks zod
 * cannot express, and the numbers `plan` needs. Registered by kind in `methods/index.ts`.
 */
export interface MethodDefinition<S extends z.ZodType<{ kind: string }> = z.ZodType<{ kind: string }>> {
  schema: S
  /** Model-aware checks of the resolved options; `at` is the options' path in the recipe (`lora`, `method`). */
  // Method syntax (not arrow properties): the registry holds each method's own option type.
  check(options: Partial<z.output<S>>, model: CheckModel, at: string): Issue[]
  count(options: z.output<S>, model: MethodModel): TrainableCount
  /** `false` for a method whose artifact cannot be folded into the weights (prompt tuning): the graph has no merge node. */
  mergeable?: false
  /** What the method rules out in the rest of the recipe (stage, packing, output), read from the recipe as written. */
  recipeIssues?(recipe: Record<string, unknown>): Issue[]
  /** Extra bytes per token, summed over all layers, that autograd keeps for the trained tensors. */
  activationBytes(options: z.output<S>, ctx: ActivationContext): number
}
