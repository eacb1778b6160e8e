// The grpo stage's recipe side: reward functions pass the schema as functions and enter the train
// node's key as their source text; the stage's checks; TypeScript rewards and advantages.
import { describe, expect, it } from 'vitest'
import { compile, defineRecipe, groupAdvantages, inline, parseRecipe, RecipeError, scoreCompletions, TunekitError, type GrpoExample } from '@tunekit/core'
import { tempDir } from '../graph/helpers.ts'

const records = [{ messages: [{ role: 'user', content: 'Opposite of hot?' }, { role: 'assistant', content: 'cold' }] }]
const exact = (completion: string, example: GrpoExample) => (completion.trim() === example.answer ? 1 : 0)

const grpo = (rewards: ((c: string, e: GrpoExample) => number)[], extra: Record<string, unknown> = {}) => ({
  name: 'grpo',
  model: { id: 'acme/chat-7b', family: 'mistral' },
  stage: { kind: 'grpo', rewards, numGenerations: 4, ...extra },
  data: { source: inline(records), format: 'openai' },
  args: { batchSize: 8 },
  backend: 'tfjs',
})

const messages = (f: () => unknown): string => {
  try {
    f()
  } catch (e) {
    if (e instanceof RecipeError || e instanceof TunekitError) return e.issues.map((i) => `${i.code} ${i.path}: ${i.message}`).join('\n')
    throw e
  }
  return 'no error'
}

describe('the grpo stage', () => {
  it("compiles to prompts → train, the rewards' source text in the train node's key", async () => {
    const baseDir = tempDir('grpo')
    const g = await compile(parseRecipe(grpo([exact])), { baseDir })
    const train = g.nodes.find((n) => n.id === 'train')!
    expect(g.nodes.find((n) => n.id === 'tokenize')!.params).toMatchObject({ render: { kind: 'prompt', template: 'mistral-instruct' } })
    expect(train.inputs).toEqual(['model', 'tokenize'])
    expect(train.params).toMatchObject({ objective: { kind: 'grpo', rewards: [exact.toString()], numGenerations: 4, beta: 0, lossType: 'dapo' } })
    // the same text is the same key; another reward re-trains
    const same = await compile(parseRecipe(grpo([(completion: string, example: GrpoExample) => (completion.trim() === example.answer ? 1 : 0)])), { baseDir })
    const other = await compile(parseRecipe(grpo([(completion: string) => completion.length])), { baseDir })
    const key = (graph: typeof g) => graph.nodes.find((n) => n.id === 'train')!.key
    expect(key(same)).not.toBe(key(other))
    expect(key(other)).not.toBe(key(g))
    expect(g.nodes.find((n) => n.id === 'tokenize')!.key).toBe(other.nodes.find((n) => n.id === 'tokenize')!.key)
  })

  it('checks the rewards, the group size and the backend', () => {
    expect(messages(() => parseRecipe({ ...grpo([]), stage: { kind: 'grpo', rewards: ['(c) => 1'] } }))).toMatchInlineSnapshot(`"TK106 stage.rewards[0]: expected a reward function (completion, example) => number"`)
    expect(messages(() => parseRecipe(grpo([exact], { numGenerations: 3 })))).toMatchInlineSnapshot(`"TK491 stage.numGenerations: a step trains on args.batchSize × args.gradientAccumulationSteps = 8 completions, which is not a multiple of stage.numGenerations 3: the last prompt's group would be cut"`)
    expect(messages(() => parseRecipe(grpo([exact], { rewardWeights: [1, 2] })))).toMatchInlineSnapshot(`"TK492 stage.rewardWeights: stage.rewardWeights has 2 weight(s) and stage.rewards 1 function(s)"`)
    expect(() => parseRecipe({ ...grpo([exact]), backend: 'torch' })).not.toThrow() // the torch worker trains grpo too
  })

  it('scores completions with each reward and normalises advantages per group (unbiased std, + 1e-4)', async () => {
    const example: GrpoExample = { id: '0', messages: [], answer: 'cold' }
    const scores = await scoreCompletions([exact, async (c: string) => c.length], ['cold', 'hot', ' cold', 'warm'], Array(4).fill(example))
    expect(scores).toEqual([[1, 4], [0, 3], [1, 5], [0, 4]])
    const { rewards, advantages } = groupAdvantages(scores, [1, 0], 4, 'group')
    expect(rewards).toEqual([1, 0, 1, 0])
    const std = Math.sqrt(1 / 3) // [1, 0, 1, 0]: mean 0.5, Σ(x − m)² = 1, n − 1 = 3
    advantages.forEach((a, i) => expect(a).toBeCloseTo((rewards[i]! - 0.5) / (std + 1e-4), 10))
    expect(groupAdvantages([[1], [1]], undefined, 2, 'group').advantages).toEqual([0, 0])
    await expect(scoreCompletions([() => Number.NaN], ['x'], [example])).rejects.toThrow(/TK493|did not return a finite number|returned NaN/)
    await expect(scoreCompletions([() => { throw new Error('boom') }], ['x'], [example])).rejects.toThrow(/boom/)
  })
})
