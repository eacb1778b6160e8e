import type { ModelConfig } from '@tunekit/core'

/** Mean-row growth for added tokens, shared with the torch backend so both start from the same rows. */
export { growRows } from '@tunekit/hf'

/** Weight names that hold vocabulary rows. */
export const VOCAB_WEIGHTS = new Set(['model.embed_tokens.weight', 'lm_head.weight'])

/** The config after resizing to `vocab` rows (never shrinks). */
export function resizedConfig(config: ModelConfig, vocab: number | undefined): ModelConfig {
  return vocab !== undefined && vocab > config.vocabSize ? { ...config, vocabSize: vocab } : config
}
