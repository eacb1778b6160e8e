// One request to the worker outside the graph (`complete`, `rewards`): the request written to a
// temp file, the worker's stdout events handed to `onEvent`, its failure a WorkerFailed error.
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fail } from '@tunekit/core'
import { workerEnv } from './python.ts'

/** A worker event on stdout (one JSON object a line). */
export interface WorkerEvent {
  type: string
  message?: string
  [key: string]: unknown
}

/** Runs `python -m tunekit_torch <command> request.json`; resolves when it exits 0, else fails with WorkerFailed at `path`. */
export async function workerRequest(python: string, command: 'complete' | 'rewards', request: unknown, onEvent: (event: WorkerEvent) => void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), `tunekit-${command}-`))
  try {
    const file = join(dir, 'request.json')
    await writeFile(file, JSON.stringify(request))
    await new Promise<void>((resolve, reject) => {
      const child = spawn(python, ['-m', 'tunekit_torch', command, file], { env: workerEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
      let error: string | undefined
      const log: string[] = []
      createInterface({ input: child.stderr }).on('line', (l) => void log.push(l))
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (!line.startsWith('{')) return
        const event = JSON.parse(line) as WorkerEvent
        if (event.type === 'error') error = event.message
        else onEvent(event)
      })
      child.on('error', (e) => reject(e))
      child.on('close', (code) => {
        if (code === 0 && error === undefined) return resolve()
        try {
          fail('WorkerFailed', { path: command === 'complete' ? 'generate' : 'rewards' }, error ?? `the worker exited with code ${code}`, log.slice(-20).join('\n'))
        } catch (e) {
          reject(e)
        }
      })
    })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
