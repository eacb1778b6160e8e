import { z } from 'zod'
import { familyNames } from '../families/index.ts'

/** Weight quantisation of the frozen base model (QLoRA). */
export const quantizeSchema = z.strictObject({
  /**
   * Bits per frozen weight. 4-bit cuts weight memory about 4x against fp16 (≈ 3.9 GB for a 7B model).
   * @defaultValue 4
   * @see https://arxiv.org/abs/2305.14314 (QLoRA)
   */
  bits: z.union([z.literal(4), z.literal(8)]).default(4),
  /**
   * Data type of the quantised weights: NF4 is information-theoretically optimal for normally
   * distributed weights and gives better quality than FP4 at the same memory.
   * @defaultValue 'nf4'
   * @see https://huggingface.co/docs/transformers/main_classes/quantization#transformers.BitsAndBytesConfig (bnb_4bit_quant_type)
   */
  type: z.enum(['nf4', 'fp4', 'int8']).default('nf4'),
  /**
   * Quantise the per-block scales too (double quantisation): saves ≈ 0.37 bits per parameter
   * (≈ 3 GB on a 65B model) at no measurable quality cost.
   * @defaultValue false
   * @see https://arxiv.org/abs/2305.14314 (QLoRA §3, bnb_4bit_use_double_quant)
   */
  doubleQuant: z.boolean().default(false),
  /**
   * Data type the dequantised weights are computed in. bf16 halves activation memory against
   * float32 and is what the QLoRA paper trains with; tfjs computes in float32 whatever this says.
   * @defaultValue 'float32'
   * @see https://huggingface.co/docs/transformers/main_classes/quantization (bnb_4bit_compute_dtype)
   */
  computeDtype: z.enum(['float32', 'float16', 'bfloat16']).default('float32'),
  /**
   * Weights per quantisation block (one absmax scale each). Smaller blocks: better precision, more
   * memory for scales (32 bits per block, or 8 with doubleQuant).
   * @defaultValue 64
   * @see https://arxiv.org/abs/2305.14314 (QLoRA uses 64)
   */
  blockSize: z.number().int().positive().default(64),
})

/** Random initialisation of a model that does not exist yet, for tests, demos and benchmarks. */
export const randomInitSchema = z.strictObject({
  /**
   * Seed of the random weights; the same seed and config give byte-identical weights.
   * No memory effect.
   * @defaultValue 0
   * @see https://huggingface.co/docs/transformers/main_classes/model#transformers.PreTrainedModel.from_config
   */
  seed: z.number().int().nonnegative().default(0),
  /**
   * config.json fields (Hugging Face names) to override on the known checkpoint's config; the
   * model's size and so its memory follow from them. A dotted key sets a field of a sub-config
   * (`'vision_config.image_size'`, `'text_config.hidden_size'` of a vision-language model); a list
   * of numbers is for fields such as Qwen2-VL's `mrope_section`.
   * @defaultValue {}
   * @see https://huggingface.co/docs/transformers/model_doc/mistral#transformers.MistralConfig
   */
  config: z.record(z.string(), z.union([z.number(), z.boolean(), z.string(), z.null(), z.array(z.number()).readonly()])).default({}),
  /**
   * Where the tokenizer comes from: a folder with tokenizer.json, or the name of a tokenizer that
   * ships with tunekit's dependencies (`'mistral'` for the real Mistral-7B v0.1 tokenizer).
   * Its vocabulary size sets the embedding and lm_head memory.
   * @defaultValue 'mistral'
   * @see https://huggingface.co/docs/tokenizers/index
   */
  tokenizer: z.string().default('mistral'),
})

/**
 * Which parts of a vision-language model (LLaVA, Qwen2-VL) train, as LLaMA-Factory's multimodal
 * options choose them. The tower and projector train the way `method` trains (LoRA on their linears
 * that `targetModules` names, or in full).
 */
export const visionTrainingSchema = z.strictObject({
  /**
   * Keep the vision tower (LLaVA's CLIP encoder, Qwen2-VL's ViT blocks and patch embedding) frozen.
   * `false` trains it too: with LoRA, `targetModules` may name its linears (LLaVA's CLIP
   * q/k/v_proj share the decoder's names, so they adapt both); with `method: { kind: 'full' }` every
   * tower weight trains, adding its gradients and two AdamW moments (≈ 12 bytes a parameter) and its
   * activations. A pretrained tower usually loses little by staying frozen.
   * @defaultValue true
   * @see https://llamafactory.readthedocs.io/en/latest/advanced/arguments.html (freeze_vision_tower)
   */
  freezeTower: z.boolean().default(true),
  /**
   * Keep the projector (LLaVA's `multi_modal_projector`, Qwen2-VL's `merger`) frozen: full training
   * trains the language model only, and LoRA may not name its linears. Saves its gradients and
   * optimizer state (a few MB to tens of MB). tunekit's default trains it; LLaMA-Factory's freezes it.
   * @defaultValue false
   * @see https://llamafactory.readthedocs.io/en/latest/advanced/arguments.html (freeze_multi_modal_projector)
   */
  freezeProjector: z.boolean().default(false),
  /**
   * Train the projector only (the language model and the tower frozen), as in LLaVA's first,
   * feature-alignment stage: the least trainable memory; the model learns to map image features,
   * not new text behaviour. With LoRA, `targetModules` must name only the projector's linears.
   * @defaultValue false
   * @see https://llamafactory.readthedocs.io/en/latest/advanced/arguments.html (train_mm_proj_only)
   */
  projectorOnly: z.boolean().default(false),
})

export type VisionTrainingInput = z.input<typeof visionTrainingSchema>
export type VisionTraining = z.output<typeof visionTrainingSchema>

export const modelSchema = z.strictObject({
  /**
   * Hugging Face Hub id (`'mistralai/Mistral-7B-v0.1'`) or a local folder in Hugging Face layout.
   * It names the weights; it does not change memory.
   * @defaultValue (required)
   * @see https://huggingface.co/docs/transformers/main_classes/model#transformers.PreTrainedModel.from_pretrained
   */
  id: z.string().min(1),
  /**
   * Architecture of the checkpoint (config.json `model_type`; `'yi'` names Yi's llama-type
   * checkpoints). It decides the module names that `lora.targetModules` and `lora.modulesToSave`
   * accept (phi-3's fused `qkv_proj` / `gate_up_proj`, Mixtral's experts' `w1`–`w3` and `gate`).
   * `'auto'` (backend `'torch'` only) trains any other decoder transformers loads without remote
   * code: its module names are read from the folder's weights by `tunekit plan`.
   * No memory effect by itself.
   * @defaultValue (required)
   * @see https://huggingface.co/docs/transformers/model_doc/auto
   */
  family: z.enum(familyNames as [string, ...string[]]),
  /**
   * A local folder that holds the weights, overriding the Hub cache lookup for `id`.
   * No memory or quality effect.
   * @defaultValue undefined (look in the Hub cache under HF_HOME)
   * @see https://huggingface.co/docs/huggingface_hub/guides/manage-cache
   */
  path: z.string().optional(),
  /**
   * Hub revision (branch, tag or commit) of the weights.
   * No memory effect; pin a commit to make runs reproducible.
   * @defaultValue 'main'
   * @see https://huggingface.co/docs/huggingface_hub/guides/download
   */
  revision: z.string().default('main'),
  /**
   * Data type of the unquantised weights and of training. bf16 halves weight and activation
   * memory against float32; the tfjs backend always computes in float32.
   * @defaultValue 'auto' (bf16 on a GPU that supports it, float32 otherwise)
   * @see https://huggingface.co/docs/transformers/main_classes/model#model-instantiation-dtype (torch_dtype)
   */
  dtype: z.enum(['auto', 'float32', 'float16', 'bfloat16']).default('auto'),
  /**
   * Quantise the frozen base weights (QLoRA). Omit to keep them in `dtype`.
   * Weight memory drops about 4x (4-bit) or 2x (8-bit) against fp16, at a small quality cost.
   * @defaultValue undefined (no quantisation)
   * @see https://arxiv.org/abs/2305.14314
   */
  quantize: quantizeSchema.optional(),
  /**
   * Create the model with random weights when it does not exist (tests, demos, benchmarks).
   * Cached by content, so it is created once.
   * A random model learns only what the data teaches: for checking pipelines, not for quality.
   * @defaultValue undefined (load pretrained weights)
   * @see https://huggingface.co/docs/transformers/main_classes/model
   */
  random: randomInitSchema.optional(),
  /**
   * Recompute each decoder layer's activations in the backward pass instead of keeping them:
   * activation memory drops to about one layer's worth, for ≈ 30% more compute.
   * @defaultValue false
   * @see https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.gradient_checkpointing
   */
  gradientCheckpointing: z.boolean().default(false),
  /**
   * What of a vision-language model trains beside the language model: the vision tower, the
   * projector, or the projector alone. Only for the families with a vision tower (`llava`,
   * `qwen2_vl`), with `method` LoRA or full. Left out: the tower frozen, the projector and the
   * language model trained (the memory of the tower's weights only).
   * @defaultValue undefined (freezeTower true, freezeProjector false, projectorOnly false)
   * @see https://llamafactory.readthedocs.io/en/latest/advanced/arguments.html (freeze_vision_tower, freeze_multi_modal_projector, train_mm_proj_only)
   */
  vision: visionTrainingSchema.optional(),
})

export type ModelInput = z.input<typeof modelSchema>
export type ModelOptions = z.output<typeof modelSchema>
