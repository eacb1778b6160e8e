import { z } from 'zod'
import { issue, type Issue } from '../errors/tunekit-error.ts'
import type { FamilyInfo, ModelConfig } from '../families/types.ts'
import { decoderParameters, sizeOf } from './parameters.ts'
import { trainedLayerActivations } from './trained-activations.ts'
import { addedTokensUntrained } from './ia3.ts'
import type { MethodDefinition } from './types.ts'

// LLaMA Pro block expansion (Wu et al. 2024; LLaMA-Factory's scripts/llama_pro.py + `use_llama_pro`):
// after every (numLayers / n)-th decoder layer a copy of it is inserted whose o_proj and down_proj
// are zero, so the copy adds nothing to the residual stream and the expanded model computes the
// base's function; only the n copies train. The artifact is the expanded model (HF folder).

export const llamaProSchema = z.strictObject({
  /**
   * LLaMA Pro: copies of some decoder layers are inserted, with zero output projections, and only
   * they train. Memory: the new blocks' weights, gradients and AdamW moments; the model grows by them.
   * @defaultValue 'lora' (when `method` is left out)
   * @see https://arxiv.org/abs/2401.02415 (LLaMA Pro: Progressive LLaMA with Block Expansion)
   */
  kind: z.literal('llama-pro'),
  /**
   * Blocks added (LLaMA-Factory's `num_expand`, trained as `freeze_trainable_layers` with
   * `use_llama_pro`); must divide the layer count. More blocks: more trainable parameters, memory
   * and capacity for the new domain.
   * @defaultValue 1
   * @see https://github.com/hiyouga/LLaMA-Factory/blob/main/scripts/llama_pro.py (num_expand)
   */
  numExpandedBlocks: z.number().int().positive().default(1),
})

export type LlamaProOptions = z.output<typeof llamaProSchema>

/**
 * The layers of the expanded model in order: the base layer each one is (or copies), and whether it
 * is an added block. A copy follows every (numLayers / n)-th layer, as llama_pro.py inserts it.
 */
export function expandedLayers(numLayers: number, numExpandedBlocks: number): Array<{ source: number; added: boolean }> {
  const split = numLayers / numExpandedBlocks
  const out: Array<{ source: number; added: boolean }> = []
  for (let i = 0; i < numLayers; i++) {
    out.push({ source: i, added: false })
    if ((i + 1) % split === 0) out.push({ source: i, added: true })
  }
  return out
}

/** The expanded model's config: `numHiddenLayers` grown by the added blocks. */
export const expandedConfig = (config: ModelConfig, numExpandedBlocks: number): ModelConfig => ({ ...config, numHiddenLayers: config.numHiddenLayers + numExpandedBlocks })

/**
 * Transformers names of the added blocks' parameters in the expanded model (what trains), in
 * `named_parameters()` order: `model.layers.{j}.…` for each added layer j.
 */
export function llamaProTrainedNames(numExpandedBlocks: number, family: FamilyInfo, baseConfig: ModelConfig): string[] {
  const added = new Set(expandedLayers(baseConfig.numHiddenLayers, numExpandedBlocks).flatMap((l, j) => (l.added ? [j] : [])))
  return decoderParameters(family, expandedConfig(baseConfig, numExpandedBlocks)).map((p) => p.name).filter((name) => {
    const layer = /^model\.layers\.(\d+)\./.exec(name)
    return layer !== null && added.has(Number(layer[1]))
  })
}

/** The catalog issue when n blocks cannot be spread evenly over the layers (llama_pro.py refuses it too). */
export function expansionIssues(numExpandedBlocks: number, numLayers: number, at: string): Issue[] {
  if (numLayers % numExpandedBlocks === 0) return []
  const divisors = Array.from({ length: numLayers }, (_, i) => i + 1).filter((d) => numLayers % d === 0)
  return [issue('ExpandedBlocksNotDivisor', { path: `${at}.numExpandedBlocks`, value: numExpandedBlocks, hintArgs: [divisors] }, numExpandedBlocks, numLayers)]
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

/** The train artifact is the expanded model itself: there is nothing to merge, and GGUF export reads a merge. */
function recipeIssues(raw: Record<string, unknown>): Issue[] {
  const output = isObject(raw.output) ? raw.output : {}
  const issues: Issue[] = []
  if (output.merge === true) issues.push(issue('LlamaProMerge', { path: 'output.merge', value: true }, 'output.merge'))
  if (Array.isArray(output.gguf) && output.gguf.length > 0) issues.push(issue('LlamaProMerge', { path: 'output.gguf', value: output.gguf }, 'output.gguf'))
  return issues
}

export const llamaPro = {
  schema: llamaProSchema,
  check: (o, model, at) => [
    ...(model.quantized ? [issue('MethodNeedsUnquantizedWeights', { path: `${at}.kind`, value: 'llama-pro' }, 'llama-pro')] : []),
    ...(o.numExpandedBlocks !== undefined && model.numLayers !== undefined ? expansionIssues(o.numExpandedBlocks, model.numLayers, at) : []),
    ...addedTokensUntrained(model, at, 'llama-pro'),
  ],
  // the added blocks are parameters beside the base's (the expanded model is base + blocks): not inBase
  count: (o, { family, config }) => {
    const layer = decoderParameters(family, { ...config, numHiddenLayers: 1 }).filter((p) => p.name.startsWith('model.layers.0.'))
    const trainable = o.numExpandedBlocks * layer.reduce((n, p) => n + sizeOf(p.shape), 0)
    return { trainable, inBase: false, parts: { expandedBlocks: trainable } }
  },
  mergeable: false,
  recipeIssues,
  activationBytes: (o, ctx) => o.numExpandedBlocks * trainedLayerActivations(ctx, 'all'),
} satisfies MethodDefinition<typeof llamaProSchema>
