import { z } from 'zod'
import { issue } from '../errors/tunekit-error.ts'
import { decoderParameters, sizeOf } from './parameters.ts'
import { trainedLayerActivations } from './trained-activations.ts'
import type { MethodDefinition } from './types.ts'
import type { ModelConfig, VisionModules } from '../families/types.ts'
import type { VisionTraining } from '../schema/model.ts'
import { visionTrainingOf } from '../vision-training.ts'

// Full fine-tuning: every weight of the model trains (W ← W − lr · AdamW(∇W)). The train artifact
// is the trained model itself in Hugging Face layout; merging it is copying it.

export const fullSchema = z.strictObject({
  /**
   * Full fine-tuning: every parameter trains. Weights, gradients and two AdamW moments for all
   * parameters (≈ 16 bytes per parameter in float32): the most memory, and no adapter to swap.
   * @defaultValue 'lora' (when `method` is left out)
   * @see https://llamafactory.readthedocs.io/en/latest/getting_started/sft.html (finetuning_type: full)
   */
  kind: z.literal('full'),
})

export type FullOptions = z.output<typeof fullSchema>

/** A vision-language model's trained parameters: the language model (unless projectorOnly), the projector (unless frozen), the tower (when it trains). */
function visionFullParams(v: VisionModules, total: number, c: ModelConfig, t: VisionTraining): number {
  const tower = v.towerParams(c)
  const projector = v.projectorParams(c)
  return (t.projectorOnly ? 0 : total - tower - projector) + (t.freezeProjector ? 0 : projector) + (t.freezeTower ? 0 : tower)
}

export const full = {
  schema: fullSchema,
  check: (_options, model, at) => [
    ...(model.quantized ? [issue('MethodNeedsUnquantizedWeights', { path: `${at}.kind`, value: 'full' }, 'full')] : []),
    ...(model.family.expertModules ? [issue('MoeModulesUnsupported', { path: `${at}.kind`, value: 'full' }, 'full fine-tuning', model.family.name)] : []),
  ],
  count: (_options, { family, config, vision }) => {
    // decoderParameters lists a llama-style decoder's tensors; the family counts the rest
    // an encoder's, or an 'auto' folder's (its weights are the list), every tensor trains
    const trainable = family.vision ? visionFullParams(family.vision, family.totalParams(config), config, visionTrainingOf(vision))
      : family.kind === 'encoder' || family.probed ? family.totalParams(config) : decoderParameters(family, config).reduce((n, p) => n + sizeOf(p.shape), 0)
    return { trainable, inBase: true, parts: { full: trainable } }
  },
  activationBytes: (_options, ctx) => ctx.config.numHiddenLayers * trainedLayerActivations(ctx, 'all'),
} satisfies MethodDefinition<typeof fullSchema>
