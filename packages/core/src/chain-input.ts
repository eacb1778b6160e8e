// `init: { recipe }` (a recipe chain, sft → dpo) before the schema sees the recipe: the chained
// recipe is resolved, and its `model` and `tokens` become this recipe's defaults, since this
// recipe trains that recipe's merged model with that recipe's tokenizer. What cannot chain is a
// catalog error here, before any compute (compile adds the chained graph: graph/chain.ts).
import { issue, type Issue } from './errors/tunekit-error.ts'
import { canonicalJson } from './json.ts'

type Obj = Record<string, unknown>
const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v)

/** Stages whose result is not a causal LM to train further (rm: a scalar head; qa: an encoder's span head). */
const NOT_A_MODEL: ReadonlySet<string> = new Set(['rm', 'qa'])

const stageOf = (r: Obj): string => (isObject(r.stage) && typeof r.stage.kind === 'string' ? r.stage.kind : 'sft')

/** The names along a resolved recipe's chain: its own, then its chained recipe's, and so on. */
export function chainNames(recipe: Obj): string[] {
  const init = recipe.init
  const up = isObject(init) && isObject(init.recipe) ? chainNames(init.recipe) : []
  return [String(recipe.name ?? 'recipe'), ...up]
}

/**
 * The recipe input with a chained recipe's `model` and `tokens` filled in under what it gives, and
 * the issues of a chain that cannot work: the chained recipe not a recipe (NotARecipe), a name met
 * twice along the chain (ChainCycle), a chained stage without a causal LM (ChainNotModel), a stage
 * that cannot start from one (ChainIntoStage), another family (ChainFamilyMismatch) or other
 * tokens (ChainTokenizerMismatch). `resolve` is parseRecipe, for a chained recipe given as data.
 */
export function chainedInput(input: unknown, resolve: (recipe: unknown) => Obj): { input: unknown; issues: Issue[] } {
  if (!isObject(input) || !isObject(input.init) || !('recipe' in input.init)) return { input, issues: [] }
  const given = input.init.recipe
  if (!isObject(given)) {
    const got = given === null ? 'null' : Array.isArray(given) ? 'an array' : typeof given
    return { input: { ...input, init: undefined }, issues: [issue('NotARecipe', { path: 'init.recipe', value: given }, got)] }
  }
  const up = Symbol.for('tunekit.resolvedRecipe') in given ? given : resolve(given)
  const issues: Issue[] = []
  const chain = [String(input.name ?? 'recipe'), ...chainNames(up)]
  const repeated = chain.find((n, i) => chain.indexOf(n) !== i)
  if (repeated !== undefined) issues.push(issue('ChainCycle', { path: 'init.recipe', value: up.name }, repeated, chain))
  if (NOT_A_MODEL.has(stageOf(up))) issues.push(issue('ChainNotModel', { path: 'init.recipe', value: up.name }, String(up.name), stageOf(up)))
  if (stageOf(input) === 'qa') issues.push(issue('ChainIntoStage', { path: 'stage.kind', value: 'qa' }, 'qa'))
  const upModel = up.model as Obj
  const model = isObject(input.model) ? input.model : {}
  if (model.family !== undefined && model.family !== upModel.family) {
    issues.push(issue('ChainFamilyMismatch', { path: 'model.family', value: model.family, hintArgs: [String(upModel.family)] }, String(model.family), String(up.name), String(upModel.family)))
  }
  const upTokens = up.tokens as Obj
  const tokens = isObject(input.tokens) ? input.tokens : {}
  for (const [key, value] of Object.entries(tokens)) {
    if (canonicalJson(value) === canonicalJson(upTokens[key])) continue
    issues.push(issue('ChainTokenizerMismatch', { path: `tokens.${key}`, value, hintArgs: [`tokens.${key}`, upTokens[key]] }, `tokens.${key}`, value, String(up.name), upTokens[key]))
  }
  return { input: { ...input, init: { ...input.init, recipe: up }, model: { ...upModel, ...model }, tokens: { ...upTokens, ...tokens } }, issues }
}
