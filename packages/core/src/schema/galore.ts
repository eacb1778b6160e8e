import { z } from 'zod'

// GaLore (Zhao et al. 2024): the gradient of each targeted 2-D weight is projected onto a rank-r
// subspace (refreshed every updateProjGap steps from its SVD) and AdamW's moments are kept there,
// so optimizer memory for those weights falls from 2·m·n to about 2·r·n values; full-rank weights
// still train. transformers runs it as `optim="galore_adamw"` with `optim_target_modules` and
// `optim_args="rank=…, update_proj_gap=…, scale=…, proj_type=…"`; these keys are those, in camelCase.

export const galoreSchema = z.strictObject({
  /**
   * Linear modules whose weights get GaLore's projected updates (transformers' `optim_target_modules`):
   * module names or `'all-linear'`. The rest of the trained tensors take plain AdamW steps.
   * @defaultValue 'all-linear'
   * @see https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.optim_target_modules
   */
  optimTargetModules: z.union([z.literal('all-linear'), z.array(z.string().min(1)).min(1)]).default('all-linear'),
  /**
   * Rank of the gradient projection (`optim_args` rank): lower saves more optimizer memory, higher
   * follows the full gradient more closely.
   * @defaultValue 128
   * @see https://arxiv.org/abs/2403.03507 (GaLore)
   */
  rank: z.number().int().positive().default(128),
  /**
   * Optimizer steps between refreshes of the projection from the gradient's SVD (`update_proj_gap`).
   * Smaller: more SVDs (time), a subspace that follows the gradient more closely.
   * @defaultValue 200
   * @see https://arxiv.org/abs/2403.03507 (GaLore)
   */
  updateProjGap: z.number().int().positive().default(200),
  /**
   * Scale of the projected-back update (`scale`), GaLore's α; acts like a learning-rate factor for the
   * targeted weights. No memory effect.
   * @defaultValue 0.25
   * @see https://arxiv.org/abs/2403.03507 (GaLore)
   */
  scale: z.number().positive().default(0.25),
  /**
   * Which side of the gradient is projected (`proj_type`): `'std'` picks the smaller side, as the paper does.
   * @defaultValue 'std'
   * @see https://github.com/jiaweizzhao/GaLore (GaLoreProjector proj_type)
   */
  projType: z.enum(['std', 'reverse_std', 'right', 'left', 'full']).default('std'),
})

export type GaloreOptions = z.output<typeof galoreSchema>

/**
 * The args a train node holds: with `optimizer: 'galore_adamw'`, `galore` filled from the schema's
 * defaults when left out (the worker reads every value from here, no second set of defaults).
 */
export function withGaloreDefaults<A extends { readonly optimizer: string; readonly galore?: unknown }>(args: A): A {
  return args.optimizer === 'galore_adamw' && args.galore === undefined ? { ...args, galore: galoreSchema.parse({}) } : args
}
