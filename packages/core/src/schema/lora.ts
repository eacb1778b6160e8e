import { z } from 'zod'

export const loraSchema = z.strictObject({
  /**
   * Rank r of the low-rank update B·A. Adapter memory and trainable parameters grow linearly
   * with it; the QLoRA paper finds quality insensitive to r once all linear layers are adapted.
   * @defaultValue 8
   * @see https://huggingface.co/docs/peft/package_reference/lora#peft.LoraConfig (r)
   */
  rank: z.number().int().positive().default(8),
  /**
   * Scaling numerator: the update is `(alpha / rank) · B·A` (`alpha / √rank` with rsLora). Higher
   * alpha acts like a higher learning rate for the adapter; no memory effect.
   * @defaultValue 8
   * @see https://huggingface.co/docs/peft/package_reference/lora#peft.LoraConfig (lora_alpha)
   */
  alpha: z.number().positive().default(8),
  /**
   * Dropout on the adapter's input during training; regularises small data sets. No memory effect
   * beyond one mask per adapted layer.
   * @defaultValue 0
   * @see https://huggingface.co/docs/peft/package_reference/lora#peft.LoraConfig (lora_dropout)
   */
  dropout: z.number().min(0).max(1).default(0),
  /**
   * Linear modules that get an adapter, by name (`q_proj`, `v_proj`, …) or `'all-linear'`. More
   * modules: more trainable parameters and better quality (QLoRA adapts all of them).
   * @defaultValue the family's PEFT default (`['q_proj', 'v_proj']` for llama and mistral)
   * @see https://huggingface.co/docs/peft/package_reference/lora#peft.LoraConfig (target_modules)
   */
  targetModules: z.union([z.literal('all-linear'), z.array(z.string().min(1)).min(1)]).optional(),
  /**
   * Modules trained in full and saved with the adapter, e.g. `embed_tokens` and `lm_head` when
   * tokens are added. Each costs its full size in weights, gradients and optimizer states.
   * @defaultValue []
   * @see https://huggingface.co/docs/peft/package_reference/lora#peft.LoraConfig (modules_to_save)
   */
  modulesToSave: z.array(z.string().min(1)).default([]),
  /**
   * Train only the embedding rows of these tokens (`true`: the tokens the recipe adds) instead of
   * the whole embedding: a few KB of trainable state instead of hundreds of MB.
   * @defaultValue false
   * @see https://huggingface.co/docs/peft/package_reference/trainable_tokens
   */
  trainableTokens: z.union([z.boolean(), z.array(z.string().min(1))]).default(false),
  /**
   * Rank-stabilised LoRA: scale by `alpha / √rank` instead of `alpha / rank`, which keeps high
   * ranks learning. No memory effect.
   * @defaultValue false
   * @see https://arxiv.org/abs/2312.03732 (rsLoRA), PEFT use_rslora
   */
  rsLora: z.boolean().default(false),
  /**
   * Initialisation of A: `'default'` is Kaiming-uniform (PEFT's default), `'gaussian'` draws from
   * N(0, 1/r). B always starts at zero, so training starts from the base model exactly.
   * @defaultValue 'default'
   * @see https://huggingface.co/docs/peft/package_reference/lora#peft.LoraConfig (init_lora_weights)
   */
  init: z.enum(['default', 'gaussian']).default('default'),
})

export type LoraInput = z.input<typeof loraSchema>
export type LoraOptions = z.output<typeof loraSchema>
