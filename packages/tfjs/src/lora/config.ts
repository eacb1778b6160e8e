import type { LoraOptions } from '@tunekit/core'

/** The LoRA settings the tfjs backend trains with, resolved from the recipe. */
export interface LoraSettings {
  rank: number
  alpha: number
  dropout: number
  /** Linear module names (`q_proj`, …), already expanded from `'all-linear'`. */
  targetModules: string[]
  /** `embed_tokens` and/or `lm_head`: trained as full copies. */
  modulesToSave: string[]
  rsLora: boolean
  init: 'default' | 'gaussian'
  /** Token ids whose embedding rows are trained (`trainableTokens`); empty when off. */
  trainableTokenIds: number[]
}

/** `alpha / rank`, or `alpha / sqrt(rank)` with rsLoRA. */
export function loraScale(s: Pick<LoraSettings, 'alpha' | 'rank' | 'rsLora'>): number {
  return s.rsLora ? s.alpha / Math.sqrt(s.rank) : s.alpha / s.rank
}

export function resolveLoraSettings(lora: LoraOptions, linearModules: readonly string[], defaults: readonly string[], trainableTokenIds: number[] = []): LoraSettings {
  const target = lora.targetModules === 'all-linear' ? [...linearModules] : [...(lora.targetModules ?? defaults)]
  return {
    rank: lora.rank,
    alpha: lora.alpha,
    dropout: lora.dropout,
    targetModules: target,
    modulesToSave: [...lora.modulesToSave],
    rsLora: lora.rsLora,
    init: lora.init,
    trainableTokenIds,
  }
}
