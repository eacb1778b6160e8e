import { z } from 'zod'
import { issue, type Issue } from '../errors/tunekit-error.ts'
import type { ModelConfig } from '../families/types.ts'
import { addedTokensUntrained } from './ia3.ts'
import { promptLearningIssues } from './prompt-tuning.ts'
import type { CheckModel, MethodDefinition } from './types.ts'

// Prefix tuning (Li & Liang, 2021): every layer's attention sees `numVirtualTokens` trained keys
// and values before the row's own, given to the model as past key values (PEFT's
// PrefixTuningConfig; options in camelCase). The prefix is [n, layers · 2 · kvDim] with
// kvDim = headDim · numKeyValueHeads (PEFT's token_dim for grouped-query attention), either trained
// directly or produced by a two-layer tanh MLP from [n, kvDim] embeddings (`prefixProjection`).
// PEFT saves the prefix itself (`prompt_embeddings` [n, layers · 2 · kvDim]), never the MLP.

export const prefixTuningSchema = z.strictObject({
  /**
   * Prefix tuning: trained per-layer key/value prefixes every token attends to, the model frozen.
   * Few trainable values (`numVirtualTokens × layers × 2 × kvDim` without the projection) and no
   * longer rows (the prefix is attention's past, not input tokens); not mergeable.
   * @defaultValue 'lora' (when `method` is left out)
   * @see https://arxiv.org/abs/2101.00190 (prefix tuning), https://huggingface.co/docs/peft/package_reference/prefix_tuning
   */
  kind: z.literal('prefix-tuning'),
  /**
   * Prefix positions each layer's attention sees before the row. More: more capacity, and each
   * attention that many keys wider.
   * @defaultValue 20
   * @see https://huggingface.co/docs/peft/package_reference/prefix_tuning#peft.PrefixTuningConfig (num_virtual_tokens)
   */
  numVirtualTokens: z.number().int().positive().default(20),
  /**
   * Produce the prefix with a two-layer MLP (kvDim → encoderHiddenSize → layers·2·kvDim, tanh)
   * from trained embeddings, as the paper does for stabler training. Many more trainable values
   * (the MLP's last layer alone is encoderHiddenSize × layers·2·kvDim); the saved adapter is the same.
   * @defaultValue false
   * @see https://huggingface.co/docs/peft/package_reference/prefix_tuning#peft.PrefixTuningConfig (prefix_projection)
   */
  prefixProjection: z.boolean().default(false),
  /**
   * Hidden width of the projection MLP (`prefixProjection: true` only). Larger: more trainable
   * values and optimizer state.
   * @defaultValue kvDim (PEFT fills in `token_dim`, headDim × numKeyValueHeads)
   * @see https://huggingface.co/docs/peft/package_reference/prefix_tuning#peft.PrefixTuningConfig (encoder_hidden_size)
   */
  encoderHiddenSize: z.number().int().positive().optional(),
})

export type PrefixTuningOptions = z.output<typeof prefixTuningSchema>

/** PEFT's prefix token_dim for grouped-query attention: headDim · numKeyValueHeads. */
export const prefixKvDim = (c: Pick<ModelConfig, 'headDim' | 'numKeyValueHeads'>): number => c.headDim * c.numKeyValueHeads

/** The projection's hidden width: `encoder_hidden_size`, else token_dim. */
export const prefixEncoderWidth = (o: { encoderHiddenSize?: number | undefined }, c: Pick<ModelConfig, 'headDim' | 'numKeyValueHeads'>): number => o.encoderHiddenSize ?? prefixKvDim(c)

/** Width of one virtual token's prefix: keys and values of every layer, layers · 2 · kvDim. */
export const prefixWidth = (c: Pick<ModelConfig, 'headDim' | 'numKeyValueHeads' | 'numHiddenLayers'>): number => c.numHiddenLayers * 2 * prefixKvDim(c)

/** PEFT's PrefixEncoder in training mode: the embedding, and the projection MLP's two linears. */
export function prefixParts(o: PrefixTuningOptions, c: Pick<ModelConfig, 'headDim' | 'numKeyValueHeads' | 'numHiddenLayers'>): { embedding: number; projection: number } {
  const n = o.numVirtualTokens
  if (!o.prefixProjection) return { embedding: n * prefixWidth(c), projection: 0 }
  const d = prefixKvDim(c)
  const e = prefixEncoderWidth(o, c)
  return { embedding: n * d, projection: d * e + e + e * prefixWidth(c) + prefixWidth(c) }
}

// Families whose attention tunekit gives a prefix: decoders, but not Gemma 2 (sliding-window and
// soft-capped layers take the prefix differently in transformers' HybridCache).
const PREFIX_REFUSED = new Set(['gemma2'])

function check(o: Partial<PrefixTuningOptions>, model: CheckModel, at: string): Issue[] {
  const issues: Issue[] = [...addedTokensUntrained(model, at, 'prefix-tuning')]
  const family = model.family
  if (family.kind !== 'decoder' || PREFIX_REFUSED.has(family.name)) issues.push(issue('PrefixTuningFamily', { path: `${at}.kind`, value: 'prefix-tuning' }, family.name))
  if (o.prefixProjection !== true && o.encoderHiddenSize !== undefined) issues.push(issue('PrefixEncoderWidthUnused', { path: `${at}.encoderHiddenSize`, value: o.encoderHiddenSize, severity: 'warning' }))
  return issues
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

/** The prompt-learning checks, and gradient checkpointing, which PEFT refuses with a prefix (its cache is not recomputed). */
function recipeIssues(raw: Record<string, unknown>): Issue[] {
  const model = isObject(raw.model) ? raw.model : {}
  const checkpointing = model.gradientCheckpointing === true ? [issue('PrefixTuningCheckpointing', { path: 'model.gradientCheckpointing', value: true })] : []
  return [...promptLearningIssues('prefix tuning')(raw), ...checkpointing]
}

export const prefixTuning = {
  schema: prefixTuningSchema,
  check,
  mergeable: false,
  recipeIssues,
  count: (o, { config }) => {
    const { embedding, projection } = prefixParts(o, config)
    // with the projection the artifact is PEFT's prompt_embeddings [n, layers·2·kvDim], the projection's output
    return { trainable: embedding + projection, inBase: false, parts: { prefix: embedding, ...(projection > 0 ? { projection } : {}) }, ...(projection > 0 ? { artifact: o.numVirtualTokens * prefixWidth(config) } : {}) }
  },
  // The gradient reaches the prefix through every layer's attention: each layer keeps the inputs of
  // its products per token (the prefix adds n keys per layer, not tokens).
  activationBytes: (_o, { config: c, computeBytes: p }) => c.numHiddenLayers * p * (2 * c.hiddenSize + c.intermediateSize),
} satisfies MethodDefinition<typeof prefixTuningSchema>
