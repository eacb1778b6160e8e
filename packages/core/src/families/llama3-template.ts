import type { ModelConfig } from './types.ts'

/** Llama 3's vocabulary size (every Llama 3.x checkpoint's config.json `vocab_size`; Llama 2 has 32000). */
export const LLAMA3_VOCAB_SIZE = 128256

/**
 * The llama family's config-decided template: `llama-3` where the config shows a Llama 3 checkpoint
 * (its 128256-token vocabulary, or Llama 3.1+'s `rope_scaling` rope_type llama3), else undefined
 * (the family's `llama-2`).
 */
export function llama3Template(config: ModelConfig): { template: 'llama-3'; because: string } | undefined {
  if (config.vocabSize === LLAMA3_VOCAB_SIZE) return { template: 'llama-3', because: `Llama 3 (vocab_size ${LLAMA3_VOCAB_SIZE})` }
  if (config.ropeScaling?.type === 'llama3') return { template: 'llama-3', because: 'Llama 3 (rope_scaling rope_type llama3)' }
  return undefined
}
