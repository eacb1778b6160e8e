import { z } from 'zod'
import { argsSchema } from '../schema/args.ts'
import { withGaloreDefaults } from '../schema/galore.ts'
import { freezeSchema } from '../methods/freeze.ts'
import { fullSchema } from '../methods/full.ts'
import { ia3Modules, ia3Schema } from '../methods/ia3.ts'
import { llamaProSchema } from '../methods/llama-pro.ts'
import { loraSchema } from '../methods/lora.ts'
import { promptTuningSchema } from '../methods/prompt-tuning.ts'
import { pTuningSchema } from '../methods/p-tuning.ts'
import { prefixTuningSchema } from '../methods/prefix-tuning.ts'
import type { Recipe } from '../define.ts'
import { modelSchema } from '../schema/model.ts'
import { dpoStageSchema } from '../schema/stage.ts'
import { orpoStageSchema } from '../schema/stage-orpo.ts'
import { simpoStageSchema } from '../schema/stage-simpo.ts'
import { ktoStageSchema } from '../schema/stage-kto.ts'
import { rmStageSchema } from '../schema/stage-rm.ts'
import { grpoStageSchema } from '../schema/stage-grpo.ts'
import { ppoStageSchema } from '../schema/stage-ppo.ts'
import { tokensSchema } from '../schema/tokens.ts'
import { backendSchema, deviceSchema } from '../schema/recipe.ts'
import { defineNode } from './node.ts'
import { resolvedSchema, resolvedShape } from './resolved.ts'

/**
 * The train node's `method` slot: the recipe's method options with their `kind` (core/src/methods/);
 * LoRA's are `{ kind: 'lora', ...recipe.lora }` with the target modules resolved.
 */
export const methodParamsSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('lora'),
    ...resolvedShape(loraSchema.shape),
    /** Module names: parseRecipe expands `'all-linear'` and the family's default into them. */
    targetModules: z.array(z.string().min(1)).min(1),
  }),
  z.strictObject(resolvedShape(fullSchema.shape)),
  z.strictObject(resolvedShape(freezeSchema.shape)),
  z.strictObject({
    ...resolvedShape(ia3Schema.shape),
    /** Module names: the family's PEFT defaults filled in (`ia3Modules`). */
    targetModules: z.array(z.string().min(1)).min(1),
    feedforwardModules: z.array(z.string().min(1)),
  }),
  z.strictObject(resolvedShape(promptTuningSchema.shape)),
  z.strictObject(resolvedShape(pTuningSchema.shape)),
  z.strictObject(resolvedShape(prefixTuningSchema.shape)),
  z.strictObject(resolvedShape(llamaProSchema.shape)),
])

/** The train node's method of a recipe: LoRA from the `lora` key, IA³ with its modules resolved, any other as given. */
export function methodParams(recipe: Recipe) {
  const m = recipe.method
  if (m.kind === 'lora') return { kind: 'lora' as const, ...recipe.lora }
  if (m.kind === 'ia3') {
    const { targets, feedforward } = ia3Modules(m, recipe.model.family)
    return { kind: 'ia3' as const, targetModules: [...targets], feedforwardModules: [...feedforward] }
  }
  return m
}

export type MethodParams = z.output<typeof methodParamsSchema>

/**
 * The grpo stage's options as the train node holds them: each reward function as its source text
 * (`fn.toString()`), so the key changes when a reward's code does; the executor calls the recipe's
 * functions themselves (`ctx.recipe.stage.rewards`), in this order.
 */
export const grpoObjectiveSchema = z.strictObject({
  ...resolvedShape(grpoStageSchema.shape),
  /** The source text of each of `stage.rewards`, in order. */
  rewards: z.array(z.string()).min(1),
})

/**
 * The ppo stage's options as the train node holds them: the reward model as the id prefix of the
 * rm recipe whose graph joined this one (its `<recipe>/train` node is an input), or as the folder
 * of an rm train artifact (its files are in the node's reads).
 */
export const ppoObjectiveSchema = z.strictObject({
  ...resolvedShape(ppoStageSchema.shape),
  /** `{ recipe }`: the rm recipe's name (its nodes are `<recipe>/…`); `{ path }`: an rm train artifact folder, absolute. */
  rewardModel: z.union([z.strictObject({ recipe: z.string().min(1) }), z.strictObject({ path: z.string().min(1) })]),
})

/** `train` params: the model as trained (dtype, quantisation), the method, the optimisation and where it runs. */
export const trainParamsSchema = z.strictObject({
  model: resolvedSchema(modelSchema),
  tokens: resolvedSchema(tokensSchema),
  method: methodParamsSchema,
  args: resolvedSchema(argsSchema),
  backend: resolvedSchema(backendSchema),
  device: resolvedSchema(deviceSchema),
  /**
   * The preference objective, when the stage trains on pairs (its options, `stage` as resolved);
   * absent for sft and pretrain (next-token cross-entropy), so their keys are what they were.
   */
  objective: z.discriminatedUnion('kind', [
    resolvedSchema(dpoStageSchema) as typeof dpoStageSchema,
    resolvedSchema(orpoStageSchema) as typeof orpoStageSchema,
    resolvedSchema(simpoStageSchema) as typeof simpoStageSchema,
    resolvedSchema(ktoStageSchema) as typeof ktoStageSchema,
    resolvedSchema(rmStageSchema) as typeof rmStageSchema,
    grpoObjectiveSchema,
    ppoObjectiveSchema,
  ]).optional(),
})

export type TrainParams = z.output<typeof trainParamsSchema>

export const trainNode = defineNode({
  kind: 'train',
  schema: trainParamsSchema,
  runsOn: 'backend',
  artifact: "the method's artifact (PEFT adapter, full model, freeze's trained tensors) + `trainer_state.json` + `tokenizer/` + `chat_template.jinja`",
  params: (recipe) => ({
    model: recipe.model,
    tokens: recipe.tokens,
    method: methodParams(recipe),
    args: withGaloreDefaults(recipe.args),
    backend: recipe.backend,
    device: recipe.device,
  }),
})
