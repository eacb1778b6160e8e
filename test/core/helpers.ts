import { parseRecipe, RecipeError } from '@tunekit/core'

/** The RecipeError that parsing `input` throws. */
export function recipeError(input: unknown): RecipeError {
  try {
    parseRecipe(input)
  } catch (e) {
    if (e instanceof RecipeError) return e
    throw e
  }
  throw new Error('expected a RecipeError')
}
