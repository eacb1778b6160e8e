import { z } from 'zod'

/**
 * What `init.recipe` holds: another recipe (defineRecipe's result, or the same recipe as an
 * object, which parseRecipe validates). Typed loosely here so that the recipe schema needs no
 * types of its own output; parseRecipe hands compile a resolved recipe.
 */
export interface ChainedRecipe {
  readonly name: string
  readonly [key: string]: unknown
}

const isObject = (v: unknown): v is ChainedRecipe => v !== null && typeof v === 'object' && !Array.isArray(v)

/** Where training starts when it is not the base model: another recipe's result (a chain, sft → dpo). */
export const initSchema = z.strictObject({
  /**
   * The recipe whose merged model this one trains: its graph becomes part of this one (its nodes
   * keep their keys, so a run of it before shares the cache), its adapter is merged into its base
   * and the result is this recipe's base model and, for a preference stage, its reference. `model`
   * and `tokens` default to that recipe's. Memory as for the merged model (the base's size).
   * @defaultValue undefined (train the base model that `model` names)
   * @see https://huggingface.co/docs/trl/dpo_trainer#using-option-1-merge-the-adapters (TRL's sft → dpo with PEFT: merge, then a new adapter)
   */
  recipe: z.custom<ChainedRecipe>(isObject, 'expected a recipe (what defineRecipe returns)'),
})

export type InitOptions = z.output<typeof initSchema>
