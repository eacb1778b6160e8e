import type { LoraSpec } from '@tunekit/hf'

/** `alpha / rank`, or `alpha / sqrt(rank)` with rsLoRA. */
export function loraScale(s: Pick<LoraSpec, 'alpha' | 'rank' | 'rsLora'>): number {
  return s.rsLora ? s.alpha / Math.sqrt(s.rank) : s.alpha / s.rank
}
