// The run's worker process (`python -m tunekit_torch serve`, packages/torch/src/worker-pool.ts): calls
// reuse one process, each call's log is its own, and a process that is gone or busy is replaced.
// The calls name spec files that do not exist, so the worker fails at once without importing torch.
import { afterEach, describe, expect, it } from 'vitest'
import { callWorker } from '../../packages/torch/src/worker-pool.ts'
import { python } from './helpers.ts'

/** A `run` call on a missing spec: its result, its log and the process that ran it. */
async function missing(name: string) {
  const log: string[] = []
  const events: string[] = []
  const call = callWorker(python, { command: 'run', file: `/nonexistent/${name}.json` }, { onStderr: (l) => void log.push(l), onStdout: (l) => void events.push(l) })
  return { ...(await call.done), log, events, pid: call.pid }
}

const alive = (pid: number): boolean => {
  try {
    return process.kill(pid, 0)
  } catch {
    return false
  }
}

afterEach(() => {
  delete process.env.TUNEKIT_POOL_TEST
})

describe('the worker process of a run', () => {
  it('runs one call after another on one process, each with its own log and its own error event', async () => {
    const a = await missing('first')
    const b = await missing('second')
    expect([a.code, b.code]).toEqual([1, 1])
    expect(b.pid).toBe(a.pid)
    // each call's traceback is in its own log, the end mark in neither
    expect(a.log.join('\n')).toContain("No such file or directory: '/nonexistent/first.json'")
    expect(a.log.join('\n')).not.toContain('second')
    expect(b.log.join('\n')).toContain("'/nonexistent/second.json'")
    expect([...a.log, ...b.log]).not.toContain('tunekit-worker-done')
    expect(b.events.map((e) => JSON.parse(e) as { type: string; name: string })).toEqual([expect.objectContaining({ type: 'error', name: 'WorkerFailed' })])
  })

  it('two calls at once run on two processes', async () => {
    const [a, b] = await Promise.all([missing('one'), missing('two')])
    expect([a.code, b.code]).toEqual([1, 1])
    expect(a.pid).not.toBe(b.pid)
  })

  it('a process killed while idle is replaced by a new one', async () => {
    const a = await missing('before')
    process.kill(a.pid!, 'SIGKILL')
    // until Node has reaped it (signal 0 then fails with ESRCH)
    while (await new Promise((r) => setTimeout(() => r(alive(a.pid!)), 20)));
    const b = await missing('after')
    expect(b.code).toBe(1)
    expect(b.pid).not.toBe(a.pid)
  })

  it('a changed environment gets a process of its own', async () => {
    const a = await missing('env-a')
    process.env.TUNEKIT_POOL_TEST = '1'
    const b = await missing('env-b')
    expect(b.pid).not.toBe(a.pid)
  })

  it('an interpreter that does not exist is a spawn error, not a hang', async () => {
    const call = callWorker('/nonexistent/python', { command: 'probe' })
    const result = await call.done
    expect(result.spawnError?.code).toBe('ENOENT')
  })
})
