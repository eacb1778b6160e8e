import { join } from 'node:path'
import { writeFileAtomic, writeJsonAtomic, type NodeContext, type ScoreParams, type ScorePrediction, type ScoreReport } from '@tunekit/core'
import { referenceOf, scoreHeldOut } from './score-held-out.ts'

/**
 * The end of every backend's score node: scores the answers to the held-out prompts, writes
 * `report.json` (a {@link ScoreReport}) and `predictions.jsonl` (one {@link ScorePrediction} per
 * example) into the artifact, and emits the `score` event. Each example's reference is a turn, or
 * its text (read as calls when it parses as calls), in the order of `answers`.
 */
export async function writeScore(
  ctx: Pick<NodeContext, 'node' | 'outDir' | 'emit'>,
  params: ScoreParams,
  examples: readonly { id: string; reference: ScorePrediction['reference'] | string }[],
  answers: readonly string[],
): Promise<ScoreReport> {
  const references = examples.map((e) => (typeof e.reference === 'string' ? referenceOf(e.reference) : e.reference))
  const metrics = scoreHeldOut(params.metrics, answers, references, { tokenize: params.tokenize })
  const report: ScoreReport = { model: params.model, examples: examples.length, callTurns: references.filter((r) => 'calls' in r).length, metrics }
  const lines = examples.map((e, i): ScorePrediction => ({ id: e.id, reference: references[i]!, prediction: answers[i]! }))
  await writeFileAtomic(join(ctx.outDir, 'predictions.jsonl'), lines.map((l) => `${JSON.stringify(l)}\n`).join(''))
  await writeJsonAtomic(join(ctx.outDir, 'report.json'), report)
  ctx.emit({ type: 'score', node: ctx.node.id, model: report.model, examples: report.examples, metrics })
  return report
}
