// One request to the worker outside the graph (`complete`, `rewards`): the request written to a
// temp file, the worker's stdout events handed to `onEvent`, its failure a WorkerFailed error.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fail } from '@tunekit/core'
import { callWorker } from './worker-pool.ts'

/** A worker event on stdout (one JSON object a line). */
export interface WorkerEvent {
  type: string
  message?: string
  [key: string]: unknown
}

/** Runs the worker's `<command> request.json` (on the run's worker process, worker-pool.ts); resolves when it exits 0, else fails with WorkerFailed at `path`. */
/** `files`: written beside request.json (the request names them relative to it: a prompt's pixels.bin). */
export async function workerRequest(python: string, command: 'complete' | 'rewards', request: unknown, onEvent: (event: WorkerEvent) => void, files: Record<string, Uint8Array> = {}): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), `tunekit-${command}-`))
  try {
    const file = join(dir, 'request.json')
    for (const [name, bytes] of Object.entries(files)) await writeFile(join(dir, name), bytes)
    await writeFile(file, JSON.stringify(request))
    let error: string | undefined
    const log: string[] = []
    const onStdout = (line: string): void => {
      if (!line.startsWith('{')) return
      const event = JSON.parse(line) as WorkerEvent
      if (event.type === 'error') error = event.message
      else onEvent(event)
    }
    const { code, spawnError } = await callWorker(python, { command, file }, { onStdout, onStderr: (l) => void log.push(l) }).done
    if (spawnError) throw spawnError
    if (code !== 0 || error !== undefined) fail('WorkerFailed', { path: command === 'complete' ? 'generate' : 'rewards' }, error ?? `the worker exited with code ${code}`, log.slice(-20).join('\n'))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
