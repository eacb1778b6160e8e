import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compile, extendRecipe, isCached, NodeCrash, runGraph, TunekitError, type RunEvent } from '@tunekit/core'
import { tempDir, testExecutors, tinyRecipe } from './helpers.ts'

const setup = () => {
  const root = tempDir('run')
  return { root, cacheDir: join(root, 'cache'), runDir: join(root, 'run'), baseDir: root }
}

const readEvents = (runDir: string): RunEvent[] =>
  readFileSync(join(runDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RunEvent)

const adapterOf = (runDir: string) => JSON.parse(readFileSync(join(runDir, 'adapter', 'adapter.json'), 'utf8')) as { weight: number; steps: number; lossHistory: number[] }

describe('runGraph', () => {
  it('re-uses tokenize, split and collate after a learning-rate change and re-runs train', async () => {
    const dirs = setup()
    const recipe = tinyRecipe({ output: { samples: ['hi'] } })
    const first = testExecutors()
    const r1 = await runGraph(await compile(recipe, dirs), { recipe, ...dirs, executors: first.executors })
    expect(r1.nodes.map((n) => n.status)).toEqual(Array(10).fill('ran'))

    const faster = extendRecipe(recipe, { args: { learningRate: 0.3 } })
    const second = testExecutors()
    const events: RunEvent[] = []
    const r2 = await runGraph(await compile(faster, dirs), { recipe: faster, ...dirs, executors: second.executors, onEvent: (e) => events.push(e) })
    expect(Object.fromEntries(r2.nodes.map((n) => [n.id, n.status]))).toEqual({
      model: 'cached', source: 'cached', format: 'cached', tokenize: 'cached', split: 'cached', collate: 'cached',
      train: 'ran', eval: 'ran', merge: 'ran', generate: 'ran',
    })
    expect(second.runs).toEqual({ train: 1, eval: 1, merge: 1, generate: 1 })
    expect(events.filter((e) => e.type === 'node-cached').map((e) => (e as { node: string }).node)).toEqual(['model', 'source', 'format', 'tokenize', 'split', 'collate'])
    // The new rate gives a different result; the old artifact stays under its own key.
    expect(adapterOf(dirs.runDir).weight).not.toBe(JSON.parse(readFileSync(join(r1.nodes[6]!.path, 'adapter.json'), 'utf8')).weight)
    expect(isCached(dirs.cacheDir, r1.nodes[6]!.key)).toBe(true)
  })

  it('writes the run folder: recipe, graph, events and links to the artifacts', async () => {
    const dirs = setup()
    const recipe = tinyRecipe({ args: { batchSize: 2, epochs: 1, learningRate: 0.1, saveEvery: 1 } })
    const graph = await compile(recipe, dirs)
    await runGraph(graph, { recipe, ...dirs, executors: testExecutors().executors })
    const listed = readdirSync(dirs.runDir).map((f) => (f.startsWith('events.out.tfevents.') ? 'events.out.tfevents.*' : f))
    expect(listed.sort()).toEqual(['adapter', 'checkpoints', 'eval.json', 'events.jsonl', 'events.out.tfevents.*', 'graph.json', 'merged', 'recipe.json'])
    // the eval node's report is linked as a file
    expect(JSON.parse(readFileSync(join(dirs.runDir, 'eval.json'), 'utf8'))).toMatchObject({ loss: expect.any(Number), perplexity: expect.any(Number) })
    expect(JSON.parse(readFileSync(join(dirs.runDir, 'recipe.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(recipe)))
    expect(JSON.parse(readFileSync(join(dirs.runDir, 'graph.json'), 'utf8'))).toEqual(graph)
    const train = graph.nodes.find((n) => n.id === 'train')!
    expect(realpathSync(join(dirs.runDir, 'adapter'))).toBe(realpathSync(join(dirs.cacheDir, train.key)))
    expect(lstatSync(join(dirs.runDir, 'checkpoints')).isSymbolicLink()).toBe(true)
    const events = readEvents(dirs.runDir)
    expect(events[0]).toMatchObject({ type: 'run-start', recipe: 'tiny', nodes: graph.nodes.map((n) => n.id) })
    expect(events.at(-1)).toMatchObject({ type: 'run-end', ok: true })
    expect(events.filter((e) => e.type === 'step').length).toBe(5) // 10 train samples / batch 2 × 1 epoch
    expect(events.every((e) => typeof e.time === 'number')).toBe(true)
    // Every cache entry is complete: a marker and no temp folder left.
    for (const n of graph.nodes) expect(existsSync(join(dirs.cacheDir, n.key, '_done.json'))).toBe(true)
    expect(readdirSync(join(dirs.cacheDir, 'tmp'))).toEqual([])
  })

  it('until, only and from select nodes like a build tool', async () => {
    const dirs = setup()
    const recipe = tinyRecipe()
    const graph = await compile(recipe, dirs)
    const a = testExecutors()
    const r1 = await runGraph(graph, { recipe, ...dirs, executors: a.executors, until: 'tokenize' })
    expect(r1.nodes.map((n) => n.id)).toEqual(['model', 'source', 'format', 'tokenize'])

    const onlyTrain = runGraph(graph, { recipe, ...dirs, executors: a.executors, only: 'train' })
    await expect(onlyTrain).rejects.toThrowErrorMatchingInlineSnapshot(`
      [TunekitError: The inputs of the node are not cached
      ✖ TK408 --only train needs the artifacts of split, collate, which are not in the cache → at only
        value: "train"
        fix: Run them first (tunekit run --until train), or drop --only.]
    `)
    const r2 = await runGraph(graph, { recipe, ...dirs, executors: a.executors, only: 'split' })
    expect(r2.nodes.map((n) => [n.id, n.status])).toEqual([['split', 'ran']])

    const b = testExecutors()
    const r3 = await runGraph(graph, { recipe, ...dirs, executors: b.executors, from: 'tokenize', until: 'collate' })
    expect(r3.nodes.map((n) => [n.id, n.status])).toEqual([
      ['model', 'cached'], ['source', 'cached'], ['format', 'cached'], ['tokenize', 'ran'], ['split', 'ran'], ['collate', 'ran'],
    ])
    await expect(runGraph(graph, { recipe, ...dirs, executors: b.executors, until: 'trian' })).rejects.toThrow(/TK407 "trian" is not a node of this graph; its nodes are model, source, format, tokenize, split, collate, train, eval, merge/)
  })

  it('a node that throws a non-catalog error is a crash: no artifact, the node named, the trace in a crash log', async () => {
    const dirs = setup()
    const recipe = tinyRecipe()
    const graph = await compile(recipe, dirs)
    const { executors } = testExecutors()
    const broken = { ...executors, split: async () => { throw new Error('index out of range') } }
    const error = await runGraph(graph, { recipe, ...dirs, executors: broken }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NodeCrash)
    expect(error).not.toBeInstanceOf(TunekitError)
    expect((error as NodeCrash).node).toBe('split')
    expect((error as Error).message).toBe('node split crashed: index out of range')
    expect(readFileSync((error as NodeCrash).crashLog!, 'utf8')).toContain('Error: index out of range\n    at ')
    expect(isCached(dirs.cacheDir, graph.nodes.find((n) => n.id === 'split')!.key)).toBe(false)
    expect(readEvents(dirs.runDir).at(-1)).toMatchObject({ type: 'run-end', ok: false, code: 'TK405' })
    const { merge: _, ...noMerge } = executors
    await expect(runGraph(graph, { recipe, ...dirs, executors: noMerge })).rejects.toThrow(/TK409 no executor was given for "merge"/)
  })

  it('an interrupted run resumes from its checkpoint and ends where an uninterrupted one does', async () => {
    const recipe = tinyRecipe({ args: { batchSize: 2, epochs: 3, learningRate: 0.2 } })
    const straight = setup()
    await runGraph(await compile(recipe, straight), { recipe, ...straight, executors: testExecutors().executors })

    const dirs = setup()
    const graph = await compile(recipe, dirs)
    const controller = new AbortController()
    const stopAt = (e: RunEvent): void => { if (e.type === 'step' && e.step === 7) controller.abort() }
    const error = await runGraph(graph, { recipe, ...dirs, executors: testExecutors().executors, signal: controller.signal, onEvent: stopAt }).catch((e: unknown) => e)
    expect((error as TunekitError).code).toBe('TK404')
    const train = graph.nodes.find((n) => n.id === 'train')!
    expect(isCached(dirs.cacheDir, train.key)).toBe(false)
    expect(readdirSync(join(dirs.cacheDir, `${train.key}.work`))).toContain('checkpoint-7')

    const resumed = testExecutors()
    const steps: number[] = []
    const r = await runGraph(graph, { recipe, ...dirs, executors: resumed.executors, onEvent: (e) => { if (e.type === 'step') steps.push(e.step) } })
    expect(r.nodes.filter((n) => n.status === 'ran').map((n) => n.id)).toEqual(['train', 'eval', 'merge'])
    expect(steps[0]).toBe(8) // continued after the last checkpoint, not from 1
    expect(adapterOf(dirs.runDir)).toEqual(adapterOf(straight.runDir))
    expect(readFileSync(join(dirs.runDir, 'merged', 'merged.json'), 'utf8')).toBe(readFileSync(join(straight.runDir, 'merged', 'merged.json'), 'utf8'))
  })
})
