// The torch backend's grpo train node, TypeScript side: the plan of prompts the worker samples for
// (@tunekit/data's grpoPlan, the steps tfjs trains), and the answers to its reward requests: the
// recipe's reward functions are TypeScript, so the worker sends each step's completions (token
// ids) and this side decodes and scores them with core's scoreGrpoStep, as tfjs does in-process.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { grpoExampleOf, grpoSampleEvents, inputOfKind, nodeParams, recipeRewards, scoreGrpoStep, type GrpoScoring, type NodeContext } from '@tunekit/core'
import { grpoPlan, loadTokenizer, readPrompts } from '@tunekit/data'

/** The worker's reward request (train_grpo.py's ask_rewards). */
export interface RewardRequest {
  type: 'reward-request'
  /** The step (0-based) whose completions these are. */
  id: number
  /** The prompt (prompts.jsonl index) of each completion, group by group. */
  exampleIndices: number[]
  /** Each completion's token ids, its eos kept when it was sampled. */
  completions: number[][]
}

export interface GrpoNode {
  /** The plan file for node.json's `grpoPlan`. */
  plan: string
  /** The answer line to a reward request: `{ rewards, metrics }`; rejects with the catalog error of a failing reward. */
  answer: (request: RewardRequest) => Promise<string>
}

/** A grpo train node's plan and reward answers; undefined for any other node. */
export async function prepareGrpo(ctx: NodeContext): Promise<GrpoNode | undefined> {
  if (ctx.node.kind !== 'train') return undefined
  const p = nodeParams('train', ctx.node)
  const o = p.objective
  if (o?.kind !== 'grpo') return undefined
  const rewards = recipeRewards(ctx, o.rewards)
  const tokenizeDir = inputOfKind(ctx, 'tokenize')
  const prompts = await readPrompts(tokenizeDir)
  const tok = await loadTokenizer(join(tokenizeDir, 'tokenizer'))
  await mkdir(ctx.workDir, { recursive: true })
  const plan = join(ctx.workDir, 'grpo-plan.json')
  await writeFile(plan, JSON.stringify(grpoPlan(prompts.length, p.args, o.numGenerations)))
  const scoring: GrpoScoring = { rewards, rewardWeights: o.rewardWeights, numGenerations: o.numGenerations, scaleRewards: o.scaleRewards, eosId: tok.eos.id, decode: (ids) => tok.decode(ids) }
  const answer = async (request: RewardRequest): Promise<string> => {
    const examples = request.exampleIndices.map((i) => grpoExampleOf(prompts[i]!))
    const scored = await scoreGrpoStep(scoring, request.completions, examples)
    for (const event of grpoSampleEvents(ctx.node.id, request.id, p.args.logEvery, examples, scored.texts, scored.advantages.rewards)) ctx.emit(event)
    return JSON.stringify({ rewards: scored.perFunction, metrics: scored.metrics })
  }
  return { plan, answer }
}
