import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compile, isCached, runGraph, type RunEvent } from '@tunekit/core'
import { tempDir, testExecutors, tinyRecipe } from './helpers.ts'

const repo = resolve(import.meta.dirname, '../..')

/** Starts the slow writer and SIGKILLs it once it is in the middle of writing an artifact. */
function killMidWrite(cacheDir: string, runDir: string): Promise<{ tempDir: string; signal: NodeJS.Signals | null }> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repo, 'test/graph/fixtures/slow-writer.ts'), cacheDir, runDir], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    let tempDir = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /WRITING (.+)\n/.exec(out)
      if (m && !tempDir) {
        tempDir = m[1]!
        child.kill('SIGKILL')
      }
    })
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    child.on('exit', (_code, signal) => (tempDir ? done({ tempDir, signal }) : reject(new Error(`the writer exited before writing: ${err}`))))
  })
}

describe('a run killed with SIGKILL mid-write', () => {
  it('leaves nothing under the key, and the next run completes', async () => {
    const root = tempDir('kill')
    const cacheDir = join(root, 'cache')
    const runDir = join(root, 'run')
    const { tempDir: partial, signal } = await killMidWrite(cacheDir, runDir)
    expect(signal).toBe('SIGKILL')

    const recipe = tinyRecipe()
    const graph = await compile(recipe, { baseDir: root, cacheDir })
    const tokenize = graph.nodes.find((n) => n.id === 'tokenize')!
    // The half-written artifact exists only in its temp folder, never under the key.
    expect(statSync(join(partial, 'ids.bin')).size).toBeGreaterThan(0)
    expect(existsSync(join(cacheDir, tokenize.key))).toBe(false)
    expect(isCached(cacheDir, tokenize.key)).toBe(false)
    expect(isCached(cacheDir, graph.nodes.find((n) => n.id === 'format')!.key)).toBe(true)

    const r = await runGraph(graph, { recipe, executors: testExecutors().executors, cacheDir, runDir, baseDir: root })
    expect(r.nodes.map((n) => [n.id, n.status]).slice(0, 4)).toEqual([['model', 'cached'], ['source', 'cached'], ['format', 'cached'], ['tokenize', 'ran']])
    expect(isCached(cacheDir, tokenize.key)).toBe(true)
    expect(existsSync(partial)).toBe(false) // the dead writer's temp folder was cleaned
    expect(readdirSync(join(cacheDir, 'tmp'))).toEqual([])
  })
})

describe('Ctrl-C during training', () => {
  it('checkpoints, exits 130, and the next run resumes to the uninterrupted result', async () => {
    const root = tempDir('sigint')
    const cacheDir = join(root, 'cache')
    const runDir = join(root, 'run')
    const { code, steps } = await new Promise<{ code: number | null; steps: number }>((done) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(repo, 'test/graph/fixtures/interrupted-run.ts'), cacheDir, runDir], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] })
      let steps = 0
      child.stdout.on('data', (d: Buffer) => {
        for (const m of d.toString().matchAll(/STEP (\d+)/g)) steps = Number(m[1])
        if (steps >= 3 && !child.killed) child.kill('SIGINT')
      })
      child.on('exit', (c) => done({ code: c, steps }))
    })
    expect(code).toBe(130)
    expect(steps).toBeLessThan(15)
    const events = readFileSync(join(runDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RunEvent)
    expect(events.at(-1)).toMatchObject({ type: 'run-end', ok: false, code: 'TK404' })

    const recipe = tinyRecipe({ args: { batchSize: 2, epochs: 3, learningRate: 0.2 } })
    const resumedSteps: number[] = []
    await runGraph(await compile(recipe, { baseDir: root, cacheDir }), {
      recipe, executors: testExecutors().executors, cacheDir, runDir, baseDir: root,
      onEvent: (e) => { if (e.type === 'step') resumedSteps.push(e.step) },
    })
    expect(resumedSteps[0]).toBe(steps + 1)
    const straight = { cacheDir: join(root, 'c2'), runDir: join(root, 'r2'), baseDir: root }
    await runGraph(await compile(recipe, straight), { recipe, executors: testExecutors().executors, ...straight })
    expect(readFileSync(join(runDir, 'adapter', 'adapter.json'), 'utf8')).toBe(readFileSync(join(straight.runDir, 'adapter', 'adapter.json'), 'utf8'))
  })
})
