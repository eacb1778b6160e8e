import type { BuiltinTemplateName } from '../schema/template-names.ts'
import type { RopeScaling } from './rope-scaling.ts'

/** The config.json numbers a planner needs, read from a Hugging Face config. */
export interface ModelConfig {
  /** config.json `model_type`. */
  modelType: string
  vocabSize: number
  hiddenSize: number
  intermediateSize: number
  numHiddenLayers: number
  numAttentionHeads: number
  numKeyValueHeads: number
  /** Per-head width; `hidden_size / num_attention_heads` unless config.json says otherwise. */
  headDim: number
  maxPositionEmbeddings: number
  rmsNormEps: number
  ropeTheta: number
  /** config.json's rope scaling (llama 3.x's `'llama3'`, linear, dynamic, yarn); absent for plain rotary embeddings. */
  ropeScaling?: RopeScaling
  tieWordEmbeddings: boolean
  /** Mistral's sliding-window attention width, when set. */
  slidingWindow: number | null
  /** Whether q/k/v projections carry a bias (qwen2). */
  attentionBias: boolean
  /**
   * qwen3's per-head RMSNorm of queries and keys (`self_attn.q_norm` / `k_norm`, weight [head_dim])
   * after the projections, before the rotary embedding; absent for the other decoders.
   */
  qkNorm?: true
  /**
   * Gemma's decoder: embeddings scaled by `sqrt(hidden_size)`, RMSNorm weights applied as `(1 + w)`
   * (stored zero-centred), and the GeGLU MLP `down(gelu_tanh(gate(x)) · up(x))`
   * (`gelu_pytorch_tanh`); absent for the llama-style decoders (SwiGLU, plain weights).
   */
  gemma?: true
  /** What Gemma 2 adds to the gemma decoder; absent for every other family. */
  gemma2?: Gemma2Config
  /**
   * Phi-3's fused projections: one `qkv_proj` [q | k | v] and one `gate_up_proj` [gate | up]
   * (its MLP `down(up · silu(gate))`); absent for the decoders with separate q/k/v and gate/up.
   */
  fusedProjections?: true
  /** Mixtral's sparse mixture of experts in place of the MLP; absent for the dense decoders. */
  moe?: MoeConfig
  bosTokenId: number | null
  eosTokenId: number | null
  /** What only an encoder (BERT) has; absent for decoders. */
  encoder?: EncoderConfig
  /**
   * What a vision-language model (LLaVA, Qwen2-VL) adds to its language model, whose numbers are
   * the fields above (config.json `text_config`); absent for text-only models.
   */
  vision?: VisionConfig
}

/** A vision-language model's vision tower, projector and image tokens (vision-config.ts reads them). */
export type VisionConfig = LlavaVision | Qwen2VlVision

/** LLaVA (transformers' LlavaConfig): a CLIP vision tower, a two-layer projector, a llama / mistral language model. */
export interface LlavaVision {
  kind: 'llava'
  /** `text_config.model_type`: the language model (`llama`, `mistral`). */
  textModelType: string
  /** CLIPVisionConfig's `hidden_size`, `intermediate_size`, `num_hidden_layers`, `num_attention_heads`. */
  hiddenSize: number
  intermediateSize: number
  numHiddenLayers: number
  numAttentionHeads: number
  /** `image_size` × `image_size` pixels in, cut into `patch_size` squares: (image/patch)² image tokens. */
  imageSize: number
  patchSize: number
  numChannels: number
  layerNormEps: number
  /** CLIPVisionConfig's `projection_dim` (written back; LLaVA does not use CLIP's projection). */
  projectionDim: number
  /** `image_token_index`: the id each image placeholder is expanded to. */
  imageTokenId: number
  /** `projector_hidden_act` between `linear_1` and `linear_2`. */
  projectorHiddenAct: string
  /** `multimodal_projector_bias`: biases on `linear_1` / `linear_2`. */
  projectorBias: boolean
  /** `vision_feature_layer`: the CLIP hidden state the projector reads (-2: the last layer's input). */
  featureLayer: number
  /** `vision_feature_select_strategy`: `default` drops the CLS position, `full` keeps it (+1 token). */
  featureSelectStrategy: 'default' | 'full'
}

/** Qwen2-VL (transformers' Qwen2VLConfig): a ViT over 3-D patches with 2-D rotary positions, a patch merger, a qwen2 decoder with M-RoPE. */
export interface Qwen2VlVision {
  kind: 'qwen2_vl'
  /** Qwen2VLVisionConfig's `embed_dim`, `depth`, `num_heads`, `mlp_ratio`. */
  hiddenSize: number
  numHiddenLayers: number
  numAttentionHeads: number
  mlpRatio: number
  patchSize: number
  /** `temporal_patch_size`: frames per patch (an image is repeated to fill them). */
  temporalPatchSize: number
  /** `spatial_merge_size`: the merger joins merge × merge patches into one image token. */
  spatialMergeSize: number
  numChannels: number
  /** `image_token_id` (`<|image_pad|>`), `vision_start_token_id`, `vision_end_token_id`, `video_token_id`. */
  imageTokenId: number
  visionStartTokenId: number
  visionEndTokenId: number
  videoTokenId: number
  /** M-RoPE's split of each head's rotary frequencies over (time, height, width); sums to head_dim / 2. */
  mropeSection: number[]
}

/** Mixtral's config.json fields of its mixture of experts (transformers' MixtralConfig). */
export interface MoeConfig {
  /** `num_local_experts`: SwiGLU experts per layer (`block_sparse_moe.experts.<e>.w1/w2/w3`). */
  numExperts: number
  /** `num_experts_per_tok`: experts each token is routed to (top-k of the router's softmax, renormalised). */
  topK: number
  /** `router_aux_loss_coef`: weight of the load-balancing loss added to the training loss (0 turns it off). */
  routerAuxLossCoef: number
}

/** Gemma 2's config.json fields beyond Gemma's (transformers' Gemma2Config). */
export interface Gemma2Config {
  /** `query_pre_attn_scalar`: attention scores are scaled by its inverse square root (not head_dim's). */
  queryPreAttnScalar: number
  /** `attn_logit_softcapping`: scores become `cap · tanh(scores / cap)` before the mask; null for none. */
  attnLogitSoftcapping: number | null
  /** `final_logit_softcapping`: logits become `cap · tanh(logits / cap)`; null for none. */
  finalLogitSoftcapping: number | null
  /** Per layer, whether it attends only within `slidingWindow` (`layer_types` "sliding_attention"; by default the even layers). */
  slidingLayers: boolean[]
}

/** The config.json fields of a BERT-style encoder beyond the shared numbers (transformers' BertConfig). */
export interface EncoderConfig {
  /** `type_vocab_size`: rows of the token-type (segment) embedding; 2 for question/context pairs. */
  typeVocabSize: number
  /** `layer_norm_eps`: the epsilon of every LayerNorm. */
  layerNormEps: number
  /** `hidden_act`: the MLP's activation; tunekit implements transformers' `"gelu"` (the erf form). */
  hiddenAct: 'gelu'
  /** `pad_token_id`, which BertConfig stores (0 for bert-base-uncased). */
  padTokenId: number
  /** `initializer_range`: the std of the normal draw of a head the checkpoint lacks (`qa_outputs`). */
  initializerRange: number
}

/** One model family (architecture): module names, config fields, parameter counts. */
export interface FamilyInfo<M extends string = string, S extends string = string> {
  name: string
  /**
   * config.json `model_type` of the family's checkpoints when it is not `name`: an alias such as
   * `yi`, whose checkpoints are llama's (`model_type: "llama"`, LlamaForCausalLM).
   */
  modelType?: string
  /**
   * `decoder`: a causal LM (sft, pretrain, preference stages); `encoder`: a bidirectional encoder
   * with a task head (BERT with `qa_outputs`), which only span stages train.
   */
  kind: 'decoder' | 'encoder'
  /**
   * Module names and shapes come from the model folder's weights, not from this entry (`auto`:
   * `probedFamily` builds the real entry); config.json is then kept as the checkpoint wrote it.
   */
  probed?: true
  /**
   * The chat template chat data gets when `data.template` is left out and neither `tokens.chatml`
   * nor a known checkpoint picks one (families/default-template.ts): the family's chat models' own
   * (`mistral-instruct` for mistral, `gemma` for gemma), `'model'` (the checkpoint's own
   * tokenizer_config.json chat_template) for `auto`; absent (the stage's `'chatml'`) for bert.
   */
  defaultTemplate?: BuiltinTemplateName | 'model'
  /**
   * A default that the config decides, where one family holds checkpoints of two chat formats
   * (llama: Llama 3's `llama-3` by its 128256-token vocabulary or `rope_scaling` llama3): the
   * template and what in the config shows it; undefined keeps `defaultTemplate`.
   */
  configTemplate?: (config: ModelConfig) => { template: BuiltinTemplateName; because: string } | undefined
  /** config.json `architectures[0]` written for this family. */
  architecture: string
  /**
   * Linear modules LoRA can target, in PEFT / transformers naming (what `'all-linear'` means). Its
   * element type also covers `expertModules`, so recipes type them as PEFT names them.
   */
  linearModules: readonly M[]
  /**
   * Module names of a mixture of experts (Mixtral's `w1`, `w2`, `w3`, the router `gate`): typed for
   * `targetModules` as PEFT names them, not adapted by tunekit yet (catalog MoeModulesUnsupported);
   * absent for dense families.
   */
  expertModules?: readonly M[]
  /** Modules that `modulesToSave` can hold (full trainable copies). */
  saveableModules: readonly S[]
  /** PEFT's default target modules for this architecture. */
  defaultTargetModules: readonly M[]
  /** Reads the family's fields from a parsed config.json. */
  readConfig(json: Record<string, unknown>): ModelConfig
  /** Writes a config.json object for this family. */
  writeConfig(config: ModelConfig): Record<string, unknown>
  /** `[in, out]` features of each linear module. */
  linearShape(config: ModelConfig, module: M): readonly [number, number]
  /**
   * `[in, out]` of every module one name matches in one layer, as PEFT's suffix match finds them:
   * one for a decoder's names, three for BERT's `dense` (attention output, intermediate, output).
   */
  linearShapes(config: ModelConfig, module: M): ReadonlyArray<readonly [number, number]>
  /** Parameter count of one module (including bias), as a function of the config. */
  moduleParams(config: ModelConfig, module: M | S): number
  /** Total parameters of the base model. */
  totalParams(config: ModelConfig): number
  /** A vision-language family's vision side; absent for text-only families. */
  vision?: VisionModules<M, S>
}

/** Where a vision-language family's vision tower and projector are, by module name. */
export interface VisionModules<M extends string = string, S extends string = string> {
  /** The vision tower's linear modules: typed for `targetModules` (LoRA may name them when `model.vision.freezeTower` is false). */
  towerModules: readonly M[]
  /** `[in, out]` of a tower linear in each of the tower's layers (LLaVA's CLIP fc1 `[hidden, intermediate]`). */
  towerLinearShape(config: ModelConfig, module: M): readonly [number, number]
  /** The tower's layers (encoder layers, ViT blocks): each holds one of every tower linear. */
  towerLayers(config: ModelConfig): number
  /**
   * PEFT's `exclude_modules` regex when the tower trains: its modules LoRA cannot adapt as linears
   * (Qwen2-VL's Conv3d `patch_embed.proj`, LLaMA-Factory's lora_conflict_keys); absent when none.
   */
  towerConflictPattern?: string
  /** The projector's linear modules (LLaVA's `linear_1` / `linear_2`, Qwen2-VL's merger `mlp.0` / `mlp.2`): one of each, not one per layer. */
  projectorModules: readonly M[]
  /** The projector as one module `modulesToSave` can hold. */
  projector: S
  /** PEFT's `exclude_modules` regex for the vision tower (full match on the module path), frozen unless `model.vision.freezeTower` is false. */
  towerPattern: string
  /** Parameters of the vision tower and of the projector. */
  towerParams(config: ModelConfig): number
  projectorParams(config: ModelConfig): number
}
