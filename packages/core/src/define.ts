import type { z } from 'zod'
import { chainedInput } from './chain-input.ts'
import { issue, RecipeError, type Issue } from './errors/tunekit-error.ts'
import { familyInfo, familyNames, type Family, type ModuleName, type SaveableModule } from './families/index.ts'
import { knownCheckpoints } from './families/checkpoints.ts'
import { configAtParse, defaultTemplate, type DefaultTemplate } from './families/default-template.ts'
import { DEFAULT_TEMPLATE, withoutFilledTemplate } from './template-choice.ts'
import type { FamilyInfo } from './families/types.ts'
import type { freezeSchema } from './methods/freeze.ts'
import type { fullSchema } from './methods/full.ts'
import type { ia3Schema } from './methods/ia3.ts'
import type { llamaProSchema } from './methods/llama-pro.ts'
import type { promptTuningSchema } from './methods/prompt-tuning.ts'
import type { pTuningSchema } from './methods/p-tuning.ts'
import type { prefixTuningSchema } from './methods/prefix-tuning.ts'
import { checkMethod, methodChoiceIssues, type MethodKind, type MethodOptions } from './methods/index.ts'
import type { loraSchema } from './methods/lora.ts'
import type { LayerModule } from './methods/trained-activations.ts'
import type { modelSchema } from './schema/model.ts'
import { recipeSchema, type RecipeSchemaInput, type ResolvedRecipe } from './schema/recipe.ts'
import { stageDataDefaults, type StageKind } from './schema/stage.ts'
import { addedTokens } from './schema/tokens.ts'
import { distributedIssues } from './distributed-issues.ts'
import { galoreIssues } from './galore-issues.ts'
import { autoIssues } from './auto-issues.ts'
import { visionIssues } from './vision-issues.ts'
import { allLinearModules, defaultTargetModules } from './vision-training.ts'
import { speedIssues } from './speed-issues.ts'
import { fromZodIssues, objectKeysAt, validParts } from './schema/validate.ts'

// The family-typed input types are homomorphic mapped types over the schema's own types, never
// `Omit<…> & { key: … }`: mapping keeps each key's declaration, so an editor's hover on
// `targetModules` or `family` still shows the TSDoc written once in schema/*.ts.

type LoraSchemaInput = z.input<typeof loraSchema>
type ModelSchemaInput = z.input<typeof modelSchema>

/** LoRA options whose module names are those of family `F`. */
export type LoraInputFor<F extends Family> = {
  [K in keyof LoraSchemaInput]: K extends 'targetModules'
    ? 'all-linear' | readonly ModuleName<F>[]
    : K extends 'modulesToSave'
      ? readonly SaveableModule<F>[]
      : LoraSchemaInput[K]
}

/** What `method: { kind: 'freeze', … }` accepts, before the module names are typed. */
export type FreezeSchemaInput = z.input<typeof freezeSchema>

/** Freeze options with the module names typed. */
export type FreezeInput = {
  [K in keyof FreezeSchemaInput]: K extends 'trainableModules'
    ? 'all' | readonly LayerModule[]
    : K extends 'extraModules'
      ? readonly ('embed_tokens' | 'norm' | 'lm_head')[]
      : FreezeSchemaInput[K]
}

/** `method: { kind: 'lora', … }` of family `F`: the `lora` key's options with a kind. */
export type LoraMethodInputFor<F extends Family> = { kind: 'lora' } & LoraInputFor<F>

export type Ia3SchemaInput = z.input<typeof ia3Schema>

/** `method: { kind: 'ia3', … }` of family `F`: the module names typed. */
export type Ia3InputFor<F extends Family> = {
  [K in keyof Ia3SchemaInput]: K extends 'targetModules' | 'feedforwardModules' ? readonly ModuleName<F>[] : Ia3SchemaInput[K]
}

/** `method: { kind: 'prompt-tuning', … }`. */
export type PromptTuningInput = z.input<typeof promptTuningSchema>

/** `method: { kind: 'p-tuning', … }` or `{ kind: 'prefix-tuning', … }`. */
export type PromptLearningInput = z.input<typeof pTuningSchema> | z.input<typeof prefixTuningSchema>

/** `method: { kind: 'llama-pro', … }`. */
export type LlamaProInput = z.input<typeof llamaProSchema>

/** The recipe's `method` key of family `F`. */
export type MethodInputFor<F extends Family> = LoraMethodInputFor<F> | z.input<typeof fullSchema> | FreezeInput | Ia3InputFor<F> | PromptTuningInput | PromptLearningInput | LlamaProInput

/**
 * LoRA's options belong to LoRA: with another method `M` the `lora` key is a type error (and
 * OptionOfAnotherMethod at check), as `trainableLayers` on `full` is (the schemas are strict). Every
 * method of {@link MethodInputFor} but LoRA's, so a new method needs no entry here.
 */
export type LoraKeyFor<F extends Family, M> = [M] extends [Exclude<MethodInputFor<F>, LoraMethodInputFor<F>>] ? never : LoraInputFor<F>

/**
 * `M` as written, with any key its method does not have typed `never`: an inferred `M` escapes
 * excess-property checks, so `{ kind: 'full', trainableLayers: 2 }` would otherwise pass.
 */
export type ExactMethod<M, F extends Family> = M extends { kind: infer K } ? { [X in Exclude<keyof M, keyof Extract<MethodInputFor<F>, { kind: K }>>]: never } : unknown

/** Model options of family `F`. */
export type ModelInputFor<F extends Family> = {
  [K in keyof ModelSchemaInput]: K extends 'family' ? F : ModelSchemaInput[K]
}


/** Stage options of stage `S`. */
export type StageInputFor<S extends StageKind> = { kind: S } & Omit<Extract<NonNullable<RecipeSchemaInput['stage']>, { kind: S }>, 'kind'>

/**
 * Data options that stage `S` allows: `format: 'text'` only with pretrain (and nothing else there
 * but `'tokens'`), no chat template and only `mask: 'all'` with pretrain.
 */
export type DataInputFor<S extends StageKind> = {
  [K in keyof RecipeSchemaInput['data']]: K extends 'format'
    ? S extends 'pretrain' ? 'text' | 'tokens' : Exclude<RecipeSchemaInput['data']['format'], 'text'>
    : K extends 'template'
      ? S extends 'pretrain' ? never : RecipeSchemaInput['data']['template']
      : K extends 'mask'
        ? S extends 'pretrain' ? 'all' : RecipeSchemaInput['data']['mask']
        : RecipeSchemaInput['data'][K]
}

/**
 * What a user writes: the recipe schema's input type, with module names typed by `model.family`,
 * the data options the stage `S` allows and the options of the method `M` only. Derived from the
 * zod schema, never written by hand.
 */
export type RecipeInput<F extends Family = Family, S extends StageKind = StageKind, M extends MethodInputFor<F> | undefined = MethodInputFor<F> | undefined> = {
  [K in keyof RecipeSchemaInput]: K extends 'model'
    ? ModelInputFor<F>
    : K extends 'lora'
      ? LoraKeyFor<F, M>
      : K extends 'method'
        ? M & ExactMethod<M, F>
        : K extends 'stage'
          ? StageInputFor<S>
          : K extends 'data'
            ? DataInputFor<S>
            : RecipeSchemaInput[K]
}

/**
 * A recipe that starts from another recipe's result (`init: { recipe }`, sft → dpo): as
 * {@link RecipeInput}, with `model` left out (this recipe trains the chained recipe's merged model)
 * and `tokens` optional (they default to the chained recipe's, its tokenizer). `model` is typed
 * `undefined` here rather than a partial model so that the editor's hover over `model.family` of a
 * plain recipe keeps its TSDoc (a union of two model types loses it).
 */
export type ChainedRecipeInput<F extends Family = Family, S extends StageKind = StageKind, M extends MethodInputFor<F> | undefined = MethodInputFor<F> | undefined> = {
  [K in keyof RecipeInput<F, S, M> as K extends 'model' | 'tokens' | 'init' ? never : K]: RecipeInput<F, S, M>[K]
} & {
  init: { recipe: Recipe<F> }
  /** Given by the chained recipe (its merged model); a recipe given as data may still name one, which must match (TK481). */
  model?: undefined
  tokens?: RecipeInput<F, S, M>['tokens']
}

type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends (...args: never[]) => unknown
    ? T // a function (a grpo reward) stays callable
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T

type ResolvedModel = ResolvedRecipe['model']
type ResolvedLora = ResolvedRecipe['lora']

/**
 * A validated, frozen recipe with every default filled in. `method` is always there: LoRA's is
 * the `lora` group with `kind: 'lora'` (and `lora` is that group, filled with defaults otherwise).
 */
export type Recipe<F extends Family = Family> = DeepReadonly<{
  [K in keyof ResolvedRecipe]: K extends 'model'
    ? { [M in keyof ResolvedModel]: M extends 'family' ? F : ResolvedModel[M] }
    : K extends 'lora'
      ? {
          [L in keyof ResolvedLora]-?: L extends 'targetModules'
            ? ModuleName<F>[]
            : L extends 'modulesToSave'
              ? SaveableModule<F>[]
              : ResolvedLora[L]
        }
      : K extends 'method'
        ? MethodOptions
        : ResolvedRecipe[K]
} & { method: MethodOptions }>

/** Changes to a recipe: every key optional, objects merged, arrays replaced. */
export type RecipeOverrides<F extends Family> = DeepPartialInput<RecipeInput<F>>
type DeepPartialInput<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartialInput<T[K]> }
    : T

const deepFreeze = <T>(value: T): T => {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}

type DeepPartial<T> = T extends readonly (infer U)[] ? readonly U[] : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T

/** A recipe of which only some values are known to be valid: what model-aware checks need to run early. */
export type RecipeParts = DeepPartial<ResolvedRecipe>

/**
 * Model-aware checks that zod cannot express. Returns every issue found. Takes a whole recipe or
 * only its valid parts (a check whose values are missing is skipped: zod reports those).
 */
export function checkRecipe(recipe: RecipeParts): Issue[] {
  const issues: Issue[] = [...stageIssues(recipe), ...outputIssues(recipe), ...distributedIssues(recipe), ...speedIssues(recipe), ...galoreIssues(recipe), ...autoIssues(recipe), ...visionIssues(recipe)]
  const { model = {}, lora = {}, tokens = {}, data = {} } = recipe
  if (model.family === undefined) return issues
  const family = familyInfo(model.family)
  if (!family) {
    issues.push(issue('UnknownFamily', { path: 'model.family', value: model.family }, model.family, familyNames))
    return issues
  }
  // Every stage but qa trains a causal LM; an encoder has no lm_head to train it with.
  const stageKind = recipe.stage?.kind ?? 'sft'
  if (stageKind === 'rm') issues.push(...rmIssues(recipe))
  if (stageKind === 'qa') issues.push(...qaIssues(recipe, family))
  else if (family.kind === 'encoder') issues.push(issue('EncoderStage', { path: 'model.family', value: model.family, hintArgs: [family.name, familyNames.filter((f) => familyInfo(f)?.kind === 'decoder' && !familyInfo(f)?.probed)] }, family.name, recipe.stage?.kind ?? 'sft'))
  // in a chain the tokens were added (and their rows trained) by the recipe it starts from
  const added = tokens.add && tokens.chatml !== undefined && recipe.init === undefined ? addedTokens(tokens) : []
  const randomLayers = model.random?.config?.num_hidden_layers
  const numLayers = typeof randomLayers === 'number' ? randomLayers : (model.id === undefined ? undefined : knownCheckpoints[model.id]?.config.numHiddenLayers)
  const checkModel = { family, quantized: model.quantize !== undefined, addedTokens: added, ...(numLayers !== undefined ? { numLayers } : {}) }
  const method = recipe.method
  if (method?.kind !== undefined) issues.push(...checkMethod(method as Partial<MethodOptions> & { kind: MethodKind }, checkModel, 'method'))
  else issues.push(...checkMethod({ ...lora, kind: 'lora' } as Partial<MethodOptions> & { kind: 'lora' }, checkModel, 'lora'))
  const q = model.quantize
  if (q?.bits !== undefined && q.type !== undefined && (q.bits === 4) !== (q.type === 'nf4' || q.type === 'fp4')) {
    issues.push(issue('QuantizeMismatch', { path: 'model.quantize.type', value: q.type }, q.bits, q.type))
  }
  const known = model.id === undefined ? undefined : knownCheckpoints[model.id]
  const randomContext = model.random?.config?.max_position_embeddings
  const context = typeof randomContext === 'number' ? randomContext : known?.config.maxPositionEmbeddings
  if (context !== undefined && data.maxLength !== undefined && data.maxLength > context) {
    issues.push(issue('MaxLengthExceedsContext', { path: 'data.maxLength', value: data.maxLength, hintArgs: [context] }, data.maxLength, context, model.id ?? 'the model'))
  }
  const evalSplit = data.split?.evalSplit
  if (evalSplit !== undefined && data.source?.kind !== undefined && data.source.kind !== 'hub') {
    issues.push(issue('EvalSplitNeedsHub', { path: 'data.split.evalSplit', value: evalSplit }, data.source.kind))
  }
  // pair-split carves held-out pairs from the training records; a second source of pairs is not read yet
  if (evalSplit !== undefined && stageKind === 'dpo') issues.push(issue('EvalSplitWithPreferenceStage', { path: 'data.split.evalSplit', value: evalSplit }, stageKind, evalSplit))
  issues.push(...evalIssues(recipe))
  return issues
}

/** The rm stage: LoRA (the head is a PEFT saved module), and no decoder outputs (a reward model generates nothing). */
function rmIssues({ method, output = {} }: RecipeParts): Issue[] {
  const issues: Issue[] = []
  if (method?.kind !== undefined && method.kind !== 'lora') issues.push(issue('RewardMethodUnsupported', { path: 'method.kind', value: method.kind }, method.kind))
  for (const key of ['samples', 'gguf'] as const) {
    if ((output[key] ?? []).length > 0) issues.push(issue('RewardModelOutputUnsupported', { path: `output.${key}`, value: output[key], hintArgs: [`output.${key}`] }, `output.${key}`))
  }
  return issues
}

/** The qa stage: an encoder, SQuAD data, full fine-tuning or plain LoRA, and no decoder outputs. */
function qaIssues({ model = {}, data = {}, method, lora = {}, output = {} }: RecipeParts, family: FamilyInfo): Issue[] {
  const issues: Issue[] = []
  if (family.kind !== 'encoder') issues.push(issue('QaNeedsEncoder', { path: 'model.family', value: model.family, hintArgs: [familyNames.filter((f) => familyInfo(f)?.kind === 'encoder')] }, family.name))
  if (data.format !== undefined && data.format !== 'squad') issues.push(issue('QaNeedsSquad', { path: 'data.format', value: data.format }, JSON.stringify(data.format)))
  const kind = method?.kind ?? 'lora'
  const plain = method?.kind === 'lora' ? method : lora
  if (kind !== 'lora' && kind !== 'full') issues.push(issue('QaMethodUnsupported', { path: 'method.kind', value: kind }, `method '${kind}'`))
  else if (kind === 'lora') {
    const at = method?.kind === 'lora' ? 'method' : 'lora'
    if (plain.useDora) issues.push(issue('QaMethodUnsupported', { path: `${at}.useDora`, value: true }, 'DoRA'))
    if (plain.trainableTokens !== undefined && plain.trainableTokens !== false) issues.push(issue('QaMethodUnsupported', { path: `${at}.trainableTokens`, value: plain.trainableTokens }, 'trainable tokens'))
    if (plain.init !== undefined && plain.init !== 'default') issues.push(issue('QaMethodUnsupported', { path: `${at}.init`, value: plain.init }, `init '${plain.init}'`))
    if (plain.initLoraWeights !== undefined && plain.initLoraWeights !== true) issues.push(issue('QaMethodUnsupported', { path: `${at}.initLoraWeights`, value: plain.initLoraWeights }, `initLoraWeights '${plain.initLoraWeights}'`))
  }
  if (model.quantize !== undefined) issues.push(issue('QaMethodUnsupported', { path: 'model.quantize', value: model.quantize }, 'a quantised base (QLoRA)'))
  if (data.split?.evalSplit !== undefined) issues.push(issue('QaEvalSplitUnsupported', { path: 'data.split.evalSplit', value: data.split.evalSplit }, data.split.evalSplit))
  if ((output.samples ?? []).length > 0) issues.push(issue('QaOutputUnsupported', { path: 'output.samples', value: output.samples, hintArgs: ['output.samples'] }, 'output.samples'))
  if ((output.gguf ?? []).length > 0) issues.push(issue('QaOutputUnsupported', { path: 'output.gguf', value: output.gguf, hintArgs: ['output.gguf'] }, 'output.gguf'))
  return issues
}

/** Outputs that need another output: a GGUF export is written from the merged model. */
function outputIssues({ output = {} }: RecipeParts): Issue[] {
  const gguf = output.gguf ?? []
  return gguf.length > 0 && output.merge === false ? [issue('GgufNeedsMerge', { path: 'output.gguf', value: gguf }, gguf)] : []
}

/** The eval group needs held-out conversations: a split (or the source's own eval split) and a stage with chat turns. */
function evalIssues({ eval: evalGroup, stage, data = {} }: RecipeParts): Issue[] {
  if (evalGroup === undefined) return []
  const kind = stage?.kind ?? 'sft'
  if (kind === 'pretrain') return [issue('EvalNeedsConversations', { path: 'eval', value: evalGroup }, kind)]
  if (kind === 'dpo' || kind === 'orpo' || kind === 'simpo' || kind === 'kto' || kind === 'rm') return [issue('EvalWithPreferenceStage', { path: 'eval', value: evalGroup }, kind)]
  const held = (data.split?.eval ?? 0.05) > 0 || (data.split?.evalSplit !== undefined && data.source?.kind === 'hub')
  return held ? [] : [issue('EvalNeedsHeldOut', { path: 'data.split.eval', value: data.split?.eval ?? 0 })]
}

/** Invalid combinations of the stage with data options (the values a recipe gives, before the stage's defaults). */
function stageIssues({ stage, data = {}, args = {}, init, model }: RecipeParts): Issue[] {
  const kind = stage?.kind ?? 'sft'
  const issues: Issue[] = []
  if (stage?.kind === 'kto') issues.push(...ktoIssues(stage, args))
  if (stage?.kind === 'grpo') issues.push(...grpoIssues(stage, args))
  if (stage?.kind === 'ppo') issues.push(...ppoIssues(stage, { init, model }, args))
  if (kind === 'pretrain') {
    if (data.template !== undefined) issues.push(issue('TemplateWithPretrain', { path: 'data.template', value: data.template }))
    if (data.mask !== undefined && data.mask !== 'all') issues.push(issue('MaskWithPretrain', { path: 'data.mask', value: data.mask }, data.mask))
    if (data.format !== undefined && data.format !== 'text' && data.format !== 'tokens') issues.push(issue('PretrainNeedsText', { path: 'data.format', value: data.format }, JSON.stringify(data.format)))
  } else if (data.format === 'text') {
    issues.push(issue('TextFormatNeedsPretrain', { path: 'data.format', value: data.format }, kind))
  }
  if (data.format === 'squad' && kind !== 'qa') issues.push(issue('SquadNeedsQa', { path: 'data.format', value: data.format }, kind))
  // Pre-tokenized records carry their own labels: no template renders them, no mask picks turns.
  if (data.format === 'tokens') {
    if (data.template !== undefined && kind !== 'pretrain') issues.push(issue('TokensFormatNeedsNoTemplate', { path: 'data.template', value: data.template, hintArgs: ['data.template'] }, 'data.template'))
    if (data.mask !== undefined && data.mask !== 'all') issues.push(issue('TokensFormatNeedsNoTemplate', { path: 'data.mask', value: data.mask, hintArgs: ['data.mask'] }, 'data.mask'))
  }
  return issues
}

/** A GRPO step holds whole groups of completions; one weight per reward (TRL's GRPOTrainer checks the same). */
function grpoIssues(stage: { numGenerations?: number | undefined; rewards?: readonly unknown[] | undefined; rewardWeights?: readonly number[] | undefined }, args: NonNullable<RecipeParts['args']>): Issue[] {
  const issues: Issue[] = []
  const generations = stage.numGenerations ?? 8
  const completions = (args.batchSize ?? 8) * (args.gradientAccumulationSteps ?? 1)
  if (completions % generations !== 0) issues.push(issue('GrpoGenerationsNotDividing', { path: 'stage.numGenerations', value: generations, hintArgs: [generations * Math.max(1, Math.round((args.batchSize ?? 8) / generations))] }, completions, generations))
  if (stage.rewardWeights !== undefined && stage.rewards !== undefined && stage.rewardWeights.length !== stage.rewards.length) issues.push(issue('GrpoRewardWeights', { path: 'stage.rewardWeights', value: stage.rewardWeights }, stage.rewardWeights.length, stage.rewards.length))
  return issues
}

/** What a recipe's base is, for comparing two: the recipe it chains from, else its model id. */
const baseOf = (r: { init?: { recipe?: { name?: unknown } | undefined } | undefined; model?: { id?: unknown } | undefined }): string =>
  r.init?.recipe?.name !== undefined ? `recipe ${String(r.init.recipe.name)}'s merged model` : `model ${String(r.model?.id)}`

/** PPO's reward model is an rm recipe on the policy's base; a rollout holds more than one completion (TRL's whitening). */
function ppoIssues(stage: { rewardModel?: unknown; numMiniBatches?: number | undefined }, own: Pick<RecipeParts, 'init' | 'model'>, args: NonNullable<RecipeParts['args']>): Issue[] {
  const issues: Issue[] = []
  const rm = stage.rewardModel
  if (rm !== null && typeof rm === 'object') {
    const up = rm as { name?: unknown; stage?: { kind?: unknown }; init?: { recipe?: { name?: unknown } }; model?: { id?: unknown } }
    const kind = String(up.stage?.kind ?? 'sft')
    if (kind !== 'rm') issues.push(issue('PpoRewardModelNotRm', { path: 'stage.rewardModel', value: up.name }, String(up.name), kind))
    else if (baseOf(up) !== baseOf(own as Parameters<typeof baseOf>[0])) issues.push(issue('PpoRewardModelBase', { path: 'stage.rewardModel', value: up.name }, String(up.name), baseOf(up), baseOf(own as Parameters<typeof baseOf>[0])))
  }
  const rollout = (args.batchSize ?? 8) * (args.gradientAccumulationSteps ?? 1) * (stage.numMiniBatches ?? 1)
  if (rollout < 2) issues.push(issue('PpoRolloutTooSmall', { path: 'args.batchSize', value: args.batchSize ?? 8 }, rollout))
  return issues
}

/** KTO's KL term needs batches of two or more examples, in record order (TRL's KTOTrainer raises the same). */
function ktoIssues(stage: { lossType?: string | undefined }, args: NonNullable<RecipeParts['args']>): Issue[] {
  if ((stage.lossType ?? 'kto') !== 'kto') return []
  const issues: Issue[] = []
  // parseRecipe fills args.shuffle: false for kto (withStageArgs): true here is the recipe's own
  if (args.shuffle ?? false) issues.push(issue('KtoShuffle', { path: 'args.shuffle', value: args.shuffle ?? true }))
  if (args.batchSize !== undefined && args.batchSize < 2) issues.push(issue('KtoBatchSizeOne', { path: 'args.batchSize', value: args.batchSize }, args.batchSize))
  return issues
}

/**
 * The recipe with the stage's data defaults (schema/stage.ts) filled in where it leaves them out,
 * and the chat template where its stage renders chat (families/default-template.ts), with the rule
 * that chose it.
 */
function withStageDefaults(recipe: ResolvedRecipe): { recipe: ResolvedRecipe; filled: DefaultTemplate | undefined } {
  const stage: { template?: 'chatml'; mask: 'all' | 'assistant'; packing: boolean } = stageDataDefaults[recipe.stage.kind]
  const { data } = recipe
  const filled = data.template === undefined && stage.template !== undefined ? chatTemplateDefault(recipe) : undefined
  return {
    recipe: {
      ...recipe,
      data: {
        ...data,
        ...(filled ? { template: filled.template } : {}),
        mask: data.mask ?? stage.mask,
        packing: data.packing ?? stage.packing,
      },
    },
    filled,
  }
}

/** The template of chat data a recipe leaves it out of: ChatML for 'chatml-text' data (it is ChatML), else the rules of defaultTemplate, else the stage's `chatml`. */
function chatTemplateDefault(recipe: ResolvedRecipe): DefaultTemplate {
  const { format } = recipe.data
  const chatmlText = format === 'chatml-text' || (typeof format === 'object' && 'kind' in format && format.kind === 'chatml-text')
  if (chatmlText) return { template: 'chatml', rule: "'chatml-text' data is ChatML already" }
  const { model } = recipe
  return defaultTemplate({ family: model.family, id: model.id, chatml: recipe.tokens.chatml, config: configAtParse(model) }) ?? { template: 'chatml', rule: "the stage's default" }
}

/**
 * Validates a recipe given as data (from TypeScript, JSON or YAML). Throws a {@link RecipeError}
 * listing every problem: zod's (keys, types, ranges) and the model-aware ones together, since the
 * model-aware checks also run on the valid parts of a recipe that zod rejects.
 */
export function parseRecipe(input: unknown): Recipe {
  const chained = chainedInput(unresolved(input), parseRecipe)
  input = withStageArgs(chained.input)
  const parsed = recipeSchema.safeParse(input)
  const choiceIssues = methodChoiceIssues(input)
  // A key of another method is named as such once, not also as zod's unknown key.
  const named = new Set(choiceIssues.map((i) => i.path))
  const shapeIssues = parsed.success
    ? []
    : fromZodIssues(parsed.error.issues, input, (path) => objectKeysAt(recipeSchema as never, path)).filter((i) => !(i.name === 'UnknownKey' && named.has(i.path)))
  const parts = parsed.success ? parsed.data : (validParts(recipeSchema as never, input) as RecipeParts)
  const errors = [...shapeIssues, ...choiceIssues, ...chained.issues, ...checkRecipe(parts).filter((i) => i.severity === 'error')]
  if (!parsed.success || errors.length > 0) throw new RecipeError(errors)
  const { recipe: defaulted, filled } = withStageDefaults(parsed.data)
  const { method: given, ...recipe } = defaulted
  const family = familyInfo(recipe.model.family)!
  const { kind: _lora, ...loraGiven } = given?.kind === 'lora' ? given : { kind: 'lora' as const, ...recipe.lora }
  // a vision-language model's: what model.vision trains (vision-training.ts)
  const targetModules =
    loraGiven.targetModules === undefined
      ? [...defaultTargetModules(family, recipe.model.vision)]
      : loraGiven.targetModules === 'all-linear'
        ? [...allLinearModules(family, recipe.model.vision)]
        : loraGiven.targetModules
  const lora = { ...loraGiven, targetModules }
  const method: MethodOptions = given === undefined || given.kind === 'lora' ? { kind: 'lora', ...lora } : given
  return deepFreeze(Object.assign({ ...recipe, lora, method }, { [RESOLVED]: true }, filled ? { [DEFAULT_TEMPLATE]: filled } : {})) as unknown as Recipe
}

/** Marks a recipe parseRecipe returned: its `lora` and `method` say the same thing twice. */
const RESOLVED = Symbol.for('tunekit.resolvedRecipe')

/**
 * The `args` whose default depends on the stage, filled before the schema fills its own: stage kto
 * keeps record order (`args.shuffle: false`), since its KL pairs are fixed in that order before
 * training, as TRL's KTOConfig samples sequentially. A recipe that sets shuffle keeps its value
 * (true is KtoShuffle, TK470).
 */
function withStageArgs(input: unknown): unknown {
  if (!isPlainObject(input) || !isPlainObject(input.stage) || input.stage.kind !== 'kto') return input
  const args = isPlainObject(input.args) ? input.args : {}
  return 'shuffle' in args ? input : { ...input, args: { ...args, shuffle: false } }
}

/**
 * A resolved recipe as the user would have written it: LoRA from the `lora` key, any other method
 * from `method` (resolved recipes carry both). Spreading a recipe keeps the mark, so re-parsing a
 * recipe with a changed key (`tunekit run --backend torch`) is not "LoRA given twice".
 */
function unresolved(input: unknown): unknown {
  if (!isPlainObject(input) || !(RESOLVED in input)) return input
  const { lora, method, ...rest } = isPlainObject(input.data) ? withoutFilledTemplate(input as typeof input & { data: Record<string, unknown> }) : input
  return isPlainObject(method) && method.kind !== 'lora' ? { ...rest, method } : { ...rest, lora }
}

/**
 * Defines a recipe. Returns it validated, with defaults filled in and frozen; throws a
 * {@link RecipeError} that lists every problem at once.
 *
 * @example
 * export const recipe = defineRecipe({
 *   model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' },
 *   data: { source: hub('OpenAssistant/oasst_top1_2023-08-25'), format: 'chatml-text' },
 * })
 */
export function defineRecipe<const F extends Family, const S extends StageKind = 'sft', const M extends MethodInputFor<F> | undefined = MethodInputFor<F> | undefined>(
  recipe: RecipeInput<F, S, M> | ChainedRecipeInput<F, S, M>,
): Recipe<F> {
  try {
    return parseRecipe(recipe) as unknown as Recipe<F>
  } catch (e) {
    if (e instanceof RecipeError) reportIfUncaught()
    throw e
  }
}

type ProcessLike = {
  env: Record<string, string | undefined>
  stderr: { write: (text: string) => unknown }
  listenerCount: (event: 'uncaughtException') => number
  once: (event: 'uncaughtException', listener: (error: unknown) => void) => unknown
  exit: (code: number) => never
}

/**
 * A recipe file run as a script (`npx tsx recipe.ts`) with a mistake throws its RecipeError out of
 * module evaluation, and Node would print its own frame around it. When nothing else listens for
 * uncaught exceptions (a test runner or an app does), print the issues the way `tunekit check`
 * does and exit 1; any other uncaught error still prints its stack. TUNEKIT_DEBUG keeps Node's output.
 */
function reportIfUncaught(): void {
  const proc = (globalThis as { process?: ProcessLike }).process
  if (!proc?.once || proc.listenerCount('uncaughtException') > 0 || proc.env.TUNEKIT_DEBUG) return
  proc.once('uncaughtException', (error) => {
    const text = error instanceof RecipeError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)
    proc.stderr.write(`${text}\n`)
    proc.exit(1)
  })
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

/**
 * Deep-merges plain objects; arrays and other values in `over` replace those in `base`, and so
 * does an object of another `kind` (a `file()` source over an `inline()` one keeps none of its keys).
 */
export function mergeDeep(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over
  if ('kind' in base && 'kind' in over && base.kind !== over.kind) return over
  const out: Record<string, unknown> = { ...base }
  for (const [k, v] of Object.entries(over)) out[k] = mergeDeep(base[k], v)
  return out
}

/** A new recipe from `base` with `overrides` applied (objects merged, arrays replaced), validated again. */
export function extendRecipe<F extends Family>(base: Recipe<F>, overrides: RecipeOverrides<F>): Recipe<F> {
  const written = unresolved(base) as Record<string, unknown>
  const over = overrides as Record<string, unknown>
  const kind = isPlainObject(over.method) ? over.method.kind : undefined
  // Another method replaces the base's: its LoRA options (or its method object) do not carry over.
  const start = kind !== undefined && kind !== base.method.kind ? Object.fromEntries(Object.entries(written).filter(([k]) => k !== 'lora' && k !== 'method')) : written
  return parseRecipe(mergeDeep(start, overrides)) as unknown as Recipe<F>
}
