import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compile, defineRecipe, extendRecipe, inline, plan, runGraph } from '@tunekit/core'
import { dataExecutors } from '@tunekit/data'
import { modelExecutor } from '@tunekit/hf'
import { tempDir } from './helpers.ts'

const tinyTokenizer = resolve(import.meta.dirname, '../fixtures/data/tiny-tokenizer')

describe('the graph with the real data executors', () => {
  it('runs model … collate, plans from their reports, and re-uses them after a learning-rate change', async () => {
    const records = Array.from({ length: 24 }, (_, i) => ({ instruction: `Count to ${i % 5 + 1}.`, output: Array.from({ length: i % 5 + 1 }, (_, k) => k + 1).join(' ') }))
    const recipe = defineRecipe({
      name: 'tiny-data',
      model: { id: 'tunekit/tiny-mistral', family: 'mistral', random: { seed: 3, tokenizer: tinyTokenizer } },
      data: { source: inline(records), format: 'alpaca', template: 'alpaca', maxLength: 64, split: { eval: 4 } },
      args: { batchSize: 4, epochs: 2, learningRate: 1e-3 },
    })
    const root = tempDir('data')
    const dirs = { cacheDir: join(root, 'cache'), runDir: join(root, 'run'), baseDir: root }
    const executors = { ...dataExecutors, model: modelExecutor }
    const first = await runGraph(await compile(recipe, dirs), { recipe, ...dirs, executors, until: 'collate' })
    expect(first.nodes.map((n) => n.status)).toEqual(Array(6).fill('ran'))

    const faster = extendRecipe(recipe, { args: { learningRate: 3e-3 } })
    const graph = await compile(faster, dirs)
    const second = await runGraph(graph, { recipe: faster, ...dirs, executors, until: 'collate' })
    expect(second.nodes.map((n) => n.status)).toEqual(Array(6).fill('cached'))

    const p = plan(graph, { cacheDir: dirs.cacheDir, throughputFile: join(root, 'none.json') })
    expect(p.nodes.map((n) => [n.id, n.status])).toEqual([
      ['model', 'cached'], ['source', 'cached'], ['format', 'cached'], ['tokenize', 'cached'], ['split', 'cached'], ['collate', 'cached'], ['train', 'to run'], ['eval', 'to run'], ['merge', 'to run'],
    ])
    expect(p.data).toMatchObject({ from: 'cache', trainSamples: 20, stepsPerEpoch: 5, totalSteps: 10 })
    expect(p.data.tokens).toBeGreaterThan(0)
    expect(p.model).toMatchObject({ id: 'tunekit/tiny-mistral', source: 'random' })
  })
})
