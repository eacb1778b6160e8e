import { spawn } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compile, isCached, runGraph } from '@tunekit/core'
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
