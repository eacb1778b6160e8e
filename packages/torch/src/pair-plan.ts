import { writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { inputOfKind, nodeParams, type NodeContext } from '@tunekit/core'
import { grpoPlan, loadTokenizer, pairPlan, readPairSplit, readPrompts, requireKtoExamples, requirePreferencePairs } from '@tunekit/data'

/**
 * A preference stage's train node: the steps of pair indices (@tunekit/data's pairPlan, the order
 * tfjs trains in) written to the work folder for the worker (node.json's `pairPlan`); undefined
 * for a train node without a preference objective. NoPreferencePairs (NoKtoExamples) before the worker starts.
 */
export async function writePairPlan(ctx: NodeContext): Promise<string | undefined> {
  const p = nodeParams('train', ctx.node)
  if (!p.objective) return undefined
  if (p.objective.kind === 'ppo') return writePpoPlan(ctx)
  // kto's plan orders its examples (requireKtoExamples), the others' their pairs
  const tokenizeDir = inputOfKind(ctx, 'tokenize')
  const count = p.objective.kind === 'kto' ? (await requireKtoExamples(tokenizeDir)).examples.length : (await requirePreferencePairs(tokenizeDir, p.objective.kind)).pairs.length
  const file = join(ctx.workDir, 'pair-plan.json')
  await mkdir(ctx.workDir, { recursive: true })
  // the training pairs only: pair-split's held-out pairs are not trained on (no torch eval of them yet)
  const { train, eval: held } = await readPairSplit(ctx, count)
  if (held.length > 0) ctx.emit({ type: 'log', node: ctx.node.id, level: 'warn', message: `${held.length} held-out preference pair(s) (data.split) are left out of training; the torch backend does not evaluate them yet (tfjs does)` })
  await writeFile(file, JSON.stringify(pairPlan(train, p.args)))
  return file
}

/**
 * The ppo stage's rollouts for the worker: the prompts (prompts.jsonl order) of each, the grpo plan's
 * steps of batchSize × gradientAccumulationSteps × numMiniBatches prompts (tfjs's order), with the eos
 * a completion stops at and the pad id the reward model reads past.
 */
async function writePpoPlan(ctx: NodeContext): Promise<string> {
  const p = nodeParams('train', ctx.node)
  if (p.objective?.kind !== 'ppo') throw new Error('writePpoPlan: the train node has no ppo objective')
  const tokenizeDir = inputOfKind(ctx, 'tokenize')
  const tok = await loadTokenizer(join(tokenizeDir, 'tokenizer'))
  const plan = grpoPlan((await readPrompts(tokenizeDir)).length, { ...p.args, gradientAccumulationSteps: p.args.gradientAccumulationSteps * p.objective.numMiniBatches }, 1)
  const file = join(ctx.workDir, 'ppo-plan.json')
  await mkdir(ctx.workDir, { recursive: true })
  await writeFile(file, JSON.stringify({ rollouts: plan.prompts, stepsPerEpoch: plan.stepsPerEpoch, eosId: tok.eos.id, padId: tok.pad.id }))
  return file
}
