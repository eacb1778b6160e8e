import type { ActivationContext } from './types.ts'

/** Parts of a decoder layer that freeze (LLaMA-Factory's `freeze_trainable_modules`) can train. */
export const LAYER_MODULES = ['self_attn', 'mlp', 'input_layernorm', 'post_attention_layernorm'] as const
export type LayerModule = (typeof LAYER_MODULES)[number]

/**
 * Bytes per token one decoder layer keeps in addition to the frozen-layer formula when some of
 * its weights train: a trained linear weight needs its input (`dW = dyᵀ x`), a trained norm
 * weight its normalised input. sdpa already keeps the attention output that o_proj reads.
 */
export function trainedLayerActivations(ctx: ActivationContext, modules: 'all' | readonly string[]): number {
  const has = (m: LayerModule): boolean => modules === 'all' || modules.includes(m)
  const { config: c, computeBytes: p, attention } = ctx
  const h = c.hiddenSize
  const q = c.numAttentionHeads * c.headDim
  return (
    (has('self_attn') ? p * h + (attention === 'eager' ? p * q : 0) : 0) + // q/k/v read norm1's output; o_proj the attention output
    (has('mlp') ? p * (h + c.intermediateSize) : 0) + // gate/up read norm2's output; down reads silu(gate)·up
    (has('input_layernorm') ? p * h : 0) +
    (has('post_attention_layernorm') ? p * h : 0)
  )
}
