import { z } from 'zod'
import type { Recipe } from '../define.ts'
import { evalSchema } from '../schema/eval.ts'
import { modelSchema, quantizeSchema } from '../schema/model.ts'
import { backendSchema, deviceSchema } from '../schema/recipe.ts'
import { argsSchema } from '../schema/args.ts'
import { defineNode } from './node.ts'
import { resolvedSchema, resolvedShape } from './resolved.ts'

const { base: _base, ...generation } = evalSchema.shape

/**
 * `score` params: which model answers (`trained`: the train node's artifact, or the merged model
 * when there is one; `base`: the base weights alone, the baseline row), how it decodes, and what is
 * scored. Its inputs are the model (and trained weights), the held-out set (split), and the
 * conversations and tokenizer it came from (format, tokenize).
 */
export const scoreParamsSchema = z.strictObject({
  model: z.enum(['trained', 'base']),
  ...resolvedShape(generation),
  /** `model.dtype` and `model.quantize`: the base is loaded as training loaded it (the adapter was trained over that base). */
  dtype: resolvedSchema(modelSchema.shape.dtype),
  quantize: resolvedSchema(quantizeSchema).optional(),
  /** `args.seed`: the draws of `doSample`. */
  seed: resolvedSchema(argsSchema.shape.seed),
  backend: resolvedSchema(backendSchema),
  device: resolvedSchema(deviceSchema),
})

export type ScoreParams = z.output<typeof scoreParamsSchema>

/** A JSON value of a tool call's arguments (graph/types.ts's Json, written out: importing it would close an import cycle: types → nodes → score). */
export type ScoreJson = null | boolean | number | string | ScoreJson[] | { [key: string]: ScoreJson }

/** One line of the score node's `predictions.jsonl`: a held-out conversation's reference turn and the model's answer. */
export interface ScorePrediction {
  /** The conversation's id (`conversations.jsonl`). */
  id: string
  /** The reference turn: its text, or its tool calls. */
  reference: { text: string } | { calls: readonly { name: string; arguments: { [name: string]: ScoreJson } }[] }
  /** The generated answer, decoded. */
  prediction: string
}

/** What the score node writes into `report.json` (and the `score` event it emits). */
export interface ScoreReport {
  /** Which model answered: the trained one, or the base weights alone. */
  model: 'trained' | 'base'
  /** Held-out conversations answered and scored. */
  examples: number
  /** Of those, the ones whose reference is tool calls. */
  callTurns: number
  /** Metric → value, in percent (0–100); `null` where no turn of that kind was scored. */
  metrics: { [metric: string]: number | null }
}

/** The score node's params for the trained model or the base (`recipe.eval` must be set). */
export const scoreParams = (recipe: Recipe, model: 'trained' | 'base'): ScoreParams => {
  const { base: _b, ...options } = recipe.eval!
  const { dtype, quantize } = recipe.model
  return { model, ...options, metrics: [...options.metrics], dtype, ...(quantize ? { quantize } : {}), seed: recipe.args.seed, backend: recipe.backend, device: recipe.device }
}

export const scoreNode = defineNode({
  kind: 'score',
  schema: scoreParamsSchema,
  runsOn: 'backend',
  artifact: '`report.json` `{ model, examples, callTurns, metrics }` + `predictions.jsonl` `{ id, reference, prediction }`',
  params: (recipe) => scoreParams(recipe, 'trained'),
})
