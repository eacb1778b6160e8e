import { targetModuleList, type LoraSpec } from '@tunekit/hf'

/** The LoRA settings the tfjs backend trains with (a LoraSpec with its lists resolved). */
export interface LoraSettings {
  rank: number
  alpha: number
  dropout: number
  /** Linear module names (`q_proj`, …), already expanded from `'all-linear'`. */
  targetModules: string[]
  /** `embed_tokens` and/or `lm_head`: trained as full copies. */
  modulesToSave: string[]
  rsLora: boolean
  /** Token ids whose embedding rows are trained (`trainableTokens`); empty when off. */
  trainableTokenIds: number[]
}

/** `alpha / rank`, or `alpha / sqrt(rank)` with rsLoRA. */
export function loraScale(s: Pick<LoraSettings, 'alpha' | 'rank' | 'rsLora'>): number {
  return s.rsLora ? s.alpha / Math.sqrt(s.rank) : s.alpha / s.rank
}

/** Resolves a LoraSpec (what adapter_config.json says) for a family. */
export function settingsFromSpec(spec: LoraSpec, family: string): LoraSettings {
  return {
    rank: spec.rank,
    alpha: spec.alpha,
    dropout: spec.dropout ?? 0,
    targetModules: targetModuleList(spec, family),
    modulesToSave: [...(spec.modulesToSave ?? [])],
    rsLora: spec.rsLora ?? false,
    trainableTokenIds: [...(spec.trainableTokens?.embed_tokens ?? [])],
  }
}
