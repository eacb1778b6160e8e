import { z } from 'zod'
import { argsSchema } from '../schema/args.ts'
import { qaStageSchema } from '../schema/stage.ts'
import { backendSchema, deviceSchema } from '../schema/recipe.ts'
import { defineNode } from './node.ts'
import { resolvedSchema } from './resolved.ts'

const qa = qaStageSchema.shape

/** `qa-eval` params: how answers are picked from the logits (the QA pipeline's post-processing) and where it runs. */
export const qaEvalParamsSchema = z.strictObject({
  maxAnswerLength: resolvedSchema(qa.maxAnswerLength),
  version2WithNegative: resolvedSchema(qa.version2WithNegative),
  /** `args.seed`: the base model's QA head when its checkpoint has none (the head qa-train starts from). */
  headSeed: resolvedSchema(argsSchema.shape.seed),
  backend: resolvedSchema(backendSchema),
  device: resolvedSchema(deviceSchema),
})

export type QaEvalParams = z.output<typeof qaEvalParamsSchema>

/** SQuAD exact match and F1 (percent, as the official script prints them) of one model on the held-out questions. */
export interface QaScore {
  exactMatch: number
  f1: number
}

/** What `qa-eval` writes into `report.json`: the base model's and the trained model's scores. */
export interface QaEvalReport {
  metric: 'squad' | 'squad_v2'
  questions: number
  base: QaScore
  trained: QaScore
}

export const qaEvalNode = defineNode({
  kind: 'qa-eval',
  schema: qaEvalParamsSchema,
  runsOn: 'backend',
  artifact: '`report.json` `{ metric, questions, base: { exactMatch, f1 }, trained: { exactMatch, f1 } }` + `predictions.jsonl` (`{ id, answer, base }`)',
  params: ({ stage, args, backend, device }) => {
    if (stage.kind !== 'qa') throw new Error('qa-eval: compiled for a stage other than qa')
    return { maxAnswerLength: stage.maxAnswerLength, version2WithNegative: stage.version2WithNegative, headSeed: args.seed, backend, device }
  },
})
