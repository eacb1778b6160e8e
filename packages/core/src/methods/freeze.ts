import { z } from 'zod'
import { issue, type Issue } from '../errors/tunekit-error.ts'
import type { FamilyInfo, ModelConfig } from '../families/types.ts'
import { decoderParameters, sizeOf } from './parameters.ts'
import { LAYER_MODULES, trainedLayerActivations } from './trained-activations.ts'
import type { CheckModel, MethodDefinition } from './types.ts'

// Freeze tuning (LLaMA-Factory's `finetuning_type: freeze`): every weight is frozen except the
// chosen modules of the last (or first) N decoder layers and a few named modules outside the
// layers. The artifact holds the trained tensors under their transformers names; merging writes
// the base with those tensors replaced.

/** Modules outside the decoder layers that `extraModules` can name (LLaMA-Factory's non-hidden modules). */
export const EXTRA_MODULES = ['embed_tokens', 'norm', 'lm_head'] as const

export const freezeSchema = z.strictObject({
  /**
   * Freeze tuning: only some layers (and named modules) train, the rest stays as it is.
   * Weights, gradients and AdamW moments only for the trained tensors; no adapter matrices.
   * @defaultValue 'lora' (when `method` is left out)
   * @see https://llamafactory.readthedocs.io/en/latest/getting_started/sft.html (finetuning_type: freeze)
   */
  kind: z.literal('freeze'),
  /**
   * Decoder layers that train: `n > 0` the last n, `n < 0` the first |n| (LLaMA-Factory's
   * `freeze_trainable_layers`). More layers: more trainable parameters, memory and quality.
   * @defaultValue 2
   * @see https://github.com/hiyouga/LLaMA-Factory/blob/main/src/llamafactory/hparams/finetuning_args.py (freeze_trainable_layers)
   */
  trainableLayers: z.number().int().refine((n) => n !== 0, 'expected a non-zero layer count').default(2),
  /**
   * Parts of those layers that train: `'all'`, or some of `self_attn`, `mlp`, `input_layernorm`,
   * `post_attention_layernorm` (`freeze_trainable_modules`). `mlp` holds most of a layer's weights.
   * @defaultValue 'all'
   * @see https://github.com/hiyouga/LLaMA-Factory/blob/main/src/llamafactory/hparams/finetuning_args.py (freeze_trainable_modules)
   */
  trainableModules: z.union([z.literal('all'), z.array(z.string().min(1)).min(1)]).default('all'),
  /**
   * Modules outside the layers that train too: `embed_tokens`, `norm` (the final norm), `lm_head`
   * (`freeze_extra_modules`). `embed_tokens` and `lm_head` are vocabulary-sized: costly, but needed
   * for added tokens.
   * @defaultValue []
   * @see https://github.com/hiyouga/LLaMA-Factory/blob/main/src/llamafactory/hparams/finetuning_args.py (freeze_extra_modules)
   */
  extraModules: z.array(z.string().min(1)).default([]),
})

export type FreezeOptions = z.output<typeof freezeSchema>

/** The trained decoder layer indices: the last n, or the first |n| (clamped to the model). */
export function trainedLayerIds(trainableLayers: number, numLayers: number): number[] {
  const n = trainableLayers
  const from = n > 0 ? Math.max(0, numLayers - n) : 0
  const to = n > 0 ? numLayers : Math.min(-n, numLayers)
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i)
}

/**
 * Transformers names of the parameters freeze trains, in `named_parameters()` order: in a trained
 * layer `model.layers.{i}.{module}.…` for each trained module (all of them for `'all'`); outside
 * the layers the parameter whose module is named (`model.norm.weight` for `norm`). With tied
 * embeddings `lm_head` is `embed_tokens` and names nothing of its own, as in torch.
 */
export function freezeTrainedNames(options: Pick<FreezeOptions, 'trainableLayers' | 'trainableModules' | 'extraModules'>, family: FamilyInfo, config: ModelConfig): string[] {
  const layers = new Set(trainedLayerIds(options.trainableLayers, config.numHiddenLayers))
  return decoderParameters(family, config).map((p) => p.name).filter((name) => {
    const inLayer = /^model\.layers\.(\d+)\.(\w+)\./.exec(name)
    if (inLayer) return layers.has(Number(inLayer[1])) && (options.trainableModules === 'all' || options.trainableModules.includes(inLayer[2]!))
    const module = name.split('.').at(-2)!
    return options.extraModules.includes(module)
  })
}

function check(o: Partial<FreezeOptions>, model: CheckModel, at: string): Issue[] {
  const issues: Issue[] = []
  if (model.quantized) issues.push(issue('MethodNeedsUnquantizedWeights', { path: `${at}.kind`, value: 'freeze' }, 'freeze'))
  // a frozen-but-last-layers run trains those layers' experts in full
  if (model.family.expertModules) issues.push(issue('MoeModulesUnsupported', { path: `${at}.kind`, value: 'freeze' }, 'freeze tuning', model.family.name))
  if (Array.isArray(o.trainableModules)) {
    o.trainableModules.forEach((m, i) => {
      if (!(LAYER_MODULES as readonly string[]).includes(m)) issues.push(issue('UnknownFreezeModule', { path: `${at}.trainableModules[${i}]`, value: m, hintArgs: [LAYER_MODULES] }, m, 'trainableModules', LAYER_MODULES))
    })
  }
  o.extraModules?.forEach((m, i) => {
    if (!(EXTRA_MODULES as readonly string[]).includes(m)) issues.push(issue('UnknownFreezeModule', { path: `${at}.extraModules[${i}]`, value: m, hintArgs: [EXTRA_MODULES] }, m, 'extraModules', EXTRA_MODULES))
  })
  if (o.extraModules && model.addedTokens.length > 0 && !o.extraModules.includes('embed_tokens')) {
    issues.push(issue('AddedTokensNeedEmbeddings', { path: `${at}.extraModules`, value: o.extraModules, hintArgs: [`Add 'embed_tokens' (and 'lm_head' unless the embeddings are tied) to ${at}.extraModules.`] }, model.addedTokens))
  }
  return issues
}

export const freeze = {
  schema: freezeSchema,
  check,
  count: (o, { family, config }) => {
    const trained = new Set(freezeTrainedNames(o, family, config))
    const trainable = decoderParameters(family, config).filter((p) => trained.has(p.name)).reduce((n, p) => n + sizeOf(p.shape), 0)
    return { trainable, inBase: true, parts: { freeze: trainable } }
  },
  activationBytes: (o, ctx) => trainedLayerIds(o.trainableLayers, ctx.config.numHiddenLayers).length * trainedLayerActivations(ctx, o.trainableModules),
} satisfies MethodDefinition<typeof freezeSchema>
