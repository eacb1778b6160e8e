import { addedTokens, fail } from '@tunekit/core'

/**
 * The one rule for `lora.trainableTokens` (its TSDoc: "`true`: the tokens the recipe adds"):
 * `false` → none; `true` → the recipe's added tokens (`addedTokens`: ChatML's two with
 * `tokens.chatml`, then `tokens.add`), by name, whether or not the base vocabulary already had
 * them; a list → those tokens. Each name must be a token of the tokenizer. Worked out once by the
 * tokenize node and written into its index.json (`trainableTokenIds`); both backends and the
 * initial adapter read it.
 */
export function trainableTokenIds(choice: boolean | readonly string[], tokens: { chatml: boolean; add: readonly string[] }, idOf: (token: string) => number | undefined): number[] {
  if (choice === false) return []
  const names = choice === true ? addedTokens(tokens) : choice
  return names.map((t) => idOf(t) ?? fail('InvalidValue', { path: 'lora.trainableTokens', value: t }, ['tokens the tokenizer knows']))
}
