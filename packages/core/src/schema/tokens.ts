import { z } from 'zod'

/** ChatML's two special tokens, in the order they are added to the vocabulary. */
export const CHATML_TOKENS = ['<|im_start|>', '<|im_end|>'] as const

/** The tokens a recipe adds to the vocabulary, in the order they get ids: ChatML's, then `add`. */
export function addedTokens(tokens: { chatml?: boolean | undefined; add?: readonly string[] | undefined }): string[] {
  return [...(tokens.chatml ? CHATML_TOKENS : []), ...(tokens.add ?? [])]
}

export const tokensSchema = z.strictObject({
  /**
   * Add ChatML's `<|im_start|>` and `<|im_end|>` as special tokens and make `<|im_end|>` the eos
   * token, as the qlora-minimal tutorial does. New tokens need trainable embeddings
   * (`lora.modulesToSave` or `lora.trainableTokens`).
   * @defaultValue false
   * @see https://github.com/openai/openai-python/blob/release-v0.28.0/chatml.md
   */
  chatml: z.boolean().default(false),
  /**
   * Extra special tokens to add to the vocabulary; each adds one row to embed_tokens and lm_head.
   * @defaultValue []
   * @see https://huggingface.co/docs/transformers/main_classes/tokenizer#transformers.PreTrainedTokenizer.add_special_tokens
   */
  add: z.array(z.string().min(1)).default([]),
  /**
   * The end-of-sequence token the model learns to emit at the end of every assistant turn.
   * @defaultValue the tokenizer's eos (`'<|im_end|>'` with `chatml: true`)
   * @see https://huggingface.co/docs/transformers/main_classes/tokenizer (eos_token)
   */
  eos: z.string().min(1).optional(),
  /**
   * The padding token. It never replaces eos in the labels: padding positions are masked by
   * position, not by id.
   * No memory effect.
   * @defaultValue the tokenizer's pad, else its unk, else eos
   * @see https://huggingface.co/docs/transformers/main_classes/tokenizer (pad_token)
   */
  pad: z.string().min(1).optional(),
  /**
   * Whether to prepend the tokenizer's bos token to every sample.
   * Must match how the base model was trained, or quality drops; no memory effect.
   * @defaultValue true
   * @see https://huggingface.co/docs/transformers/main_classes/tokenizer (add_bos_token)
   */
  addBos: z.boolean().default(true),
})

export type TokensInput = z.input<typeof tokensSchema>
export type TokensOptions = z.output<typeof tokensSchema>
