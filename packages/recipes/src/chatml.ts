import {
  defineRecipe,
  mergeDeep,
  type Family,
  type ModelInputFor,
  type Recipe,
  type RecipeInput,
  type RecipeOverrides,
} from '@tunekit/core'

/** The seven linear projections of a llama-style decoder block, as the qlora-minimal tutorial lists them. */
export const allProjections = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const

/**
 * What a ChatML recipe factory takes: the model and the data source, plus any recipe key to
 * override. Module names are typed by `model.family`, as in {@link defineRecipe}.
 */
export type ChatmlRecipeOptions<F extends Family> = RecipeOverrides<F> & {
  /** The base model; `family` decides which module names `lora` accepts. */
  model: ModelInputFor<F>
  /** The training data; `source` is required, `format` defaults to `'chatml-text'`. */
  data: NonNullable<RecipeOverrides<F>['data']> & { source: RecipeInput<F>['data']['source'] }
}

/**
 * The qlora-minimal tutorial's settings without the model and data: ChatML tokens with
 * `<|im_end|>` as eos, LoRA r = 64 / alpha = 16 / dropout = 0.1 on all seven projections with
 * embed_tokens and lm_head trained and saved, sequences of at most 512 tokens, batch 16, 3 epochs
 * at a constant 2e-4 with paged AdamW 32-bit, grouped by length, eval and save once per epoch.
 * @see https://github.com/geronimi73/qlora-minimal
 */
export const chatmlLoraDefaults = {
  tokens: { chatml: true },
  lora: {
    rank: 64,
    alpha: 16,
    dropout: 0.1,
    targetModules: [...allProjections],
    // The added ChatML rows live in embed_tokens and lm_head, so both train and are saved.
    modulesToSave: ['lm_head', 'embed_tokens'],
  },
  data: {
    format: 'chatml-text',
    template: 'chatml',
    maxLength: 512,
    // The tutorial's DataCollatorForLanguageModeling trains on every token of the conversation.
    mask: 'all',
  },
  args: {
    batchSize: 16,
    gradientAccumulationSteps: 1,
    epochs: 3,
    learningRate: 2e-4,
    lrScheduler: 'constant',
    optimizer: 'paged_adamw_32bit',
    groupByLength: true,
    evalEvery: 'epoch',
    saveEvery: 'epoch',
  },
} as const

/**
 * The tutorial's quantisation: frozen weights in 4-bit NF4, computing in bf16 (bitsandbytes'
 * `load_in_4bit`, `bnb_4bit_quant_type='nf4'`, `bnb_4bit_compute_dtype=bfloat16`), and
 * gradient checkpointing as PEFT's `prepare_model_for_kbit_training` switches it on.
 * @see https://arxiv.org/abs/2305.14314
 */
export const qloraModelDefaults = {
  dtype: 'bfloat16',
  quantize: { bits: 4, type: 'nf4', computeDtype: 'bfloat16' },
  gradientCheckpointing: true,
} as const

const build = <F extends Family>(defaults: unknown, options: ChatmlRecipeOptions<F>): Recipe<F> =>
  defineRecipe(mergeDeep(defaults, options) as RecipeInput<F>)

/**
 * A QLoRA recipe for ChatML conversations, with the qlora-minimal tutorial's settings
 * ({@link chatmlLoraDefaults} + {@link qloraModelDefaults}). Every key can be overridden: objects
 * merge, arrays replace.
 *
 * @example
 * export const recipe = qloraChatml({
 *   model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' },
 *   data: { source: hub('OpenAssistant/oasst_top1_2023-08-25') },
 *   args: { epochs: 1 },
 * })
 */
export function qloraChatml<const F extends Family>(options: ChatmlRecipeOptions<F>): Recipe<F> {
  return build(mergeDeep(chatmlLoraDefaults, { model: qloraModelDefaults }), options)
}

/**
 * The same recipe as {@link qloraChatml} without quantisation: the base weights stay in
 * `model.dtype`. For small models, CPUs and the tfjs backend.
 */
export function loraChatml<const F extends Family>(options: ChatmlRecipeOptions<F>): Recipe<F> {
  return build(chatmlLoraDefaults, options)
}
