// A tiny seeded recipe run through the real pipeline (compile, data executors, model node) with
// the torch backend: a random Mistral-shaped model of ~1.1M parameters on CPU, float32.
import { closeSync, existsSync, mkdtempSync, openSync, readSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { spawnSync } from 'node:child_process'
import { compile, defineRecipe, inline, runGraph, type Backend, type Recipe, type RecipeInput, type RunEvent, type RunResult } from '@tunekit/core'
import { dataExecutors } from '@tunekit/data'
import { modelExecutor } from '@tunekit/hf'
import { workerPython } from '../python.ts'

export const repoRoot = resolve(import.meta.dirname, '../..')

/** The Python the tests use: TUNEKIT_PYTHON (CI sets it), else the repository's .venv. */
export const python = workerPython()
if (!existsSync(python)) throw new Error(`test/torch needs a Python with the pinned packages: set TUNEKIT_PYTHON or create ${python} (see .ci/run)`)

/** Bytes of a safetensors file's tensors: its size less the 8-byte length and the JSON header. */
export function tensorBytes(file: string): number {
  const fd = openSync(file, 'r')
  const head = Buffer.alloc(8)
  readSync(fd, head, 0, 8, 0)
  closeSync(fd)
  return statSync(file).size - 8 - Number(head.readBigUInt64LE(0))
}

export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), `tunekit-torch-${prefix}-`))

/** Sixteen seeded arithmetic pairs. */
export const records = Array.from({ length: 16 }, (_, i) => ({ prompt: `What is ${i} plus ${i + 2}?`, response: `${i} plus ${i + 2} is ${2 * i + 2}.` }))

export const tinyModel = {
  id: 'tunekit/tiny-mistral',
  family: 'mistral',
  dtype: 'float32',
  random: { seed: 1, config: { vocab_size: 32000, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256 } },
} as const

export function tinyRecipe(over: Partial<RecipeInput<'mistral', 'sft'>> = {}): Recipe<'mistral'> {
  return defineRecipe<'mistral'>({
    name: 'tiny-torch',
    model: tinyModel,
    data: { source: inline(records), format: { kind: 'columns', prompt: 'prompt', response: 'response' }, maxLength: 64, split: { eval: 2 } },
    tokens: { chatml: true },
    lora: { rank: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj'], trainableTokens: true },
    args: { batchSize: 2, epochs: 3, learningRate: 1e-2, logEvery: 1, seed: 3 },
    backend: 'torch',
    device: 'cpu',
    output: { merge: true },
    ...over,
  })
}

export interface Run {
  result: RunResult
  events: RunEvent[]
  cacheDir: string
  /** The artifact folder of a node. */
  artifact: (id: string) => string
  /** The work folder (checkpoints) of a node. */
  work: (id: string) => string
}

/** Runs a recipe on the given backend; `onEvent` sees every event as it comes. */
export async function runRecipe(
  recipe: Recipe,
  backend: Backend,
  opts: { cacheDir?: string; until?: string; signal?: AbortSignal; onEvent?: (e: RunEvent) => void; beforeRun?: (work: (id: string) => string) => Promise<void> } = {},
): Promise<Run> {
  const cacheDir = opts.cacheDir ?? tempDir('cache')
  const graph = await compile(recipe, { baseDir: repoRoot, cacheDir })
  const events: RunEvent[] = []
  const keyOf = (id: string): string => graph.nodes.find((n) => n.id === id)!.key
  const run = (): Promise<RunResult> =>
    runGraph(graph, {
      recipe,
      executors: { ...dataExecutors, model: modelExecutor, ...backend.executors },
      cacheDir,
      runDir: tempDir('run'),
      baseDir: repoRoot,
      ...(opts.until ? { until: opts.until } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      onEvent: (e) => {
        events.push(e)
        opts.onEvent?.(e)
      },
    })
  const work = (id: string): string => join(cacheDir, `${keyOf(id)}.work`)
  await opts.beforeRun?.(work)
  const result = await run()
  return { result, events, cacheDir, artifact: (id) => join(cacheDir, keyOf(id)), work }
}

/** Runs a Python snippet with the test Python; returns its stdout's last line parsed as JSON. */
export function pythonJson(code: string, args: string[] = []): unknown {
  const r = spawnSync(python, ['-c', code, ...args], { encoding: 'utf8', env: { ...process.env, HF_HUB_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false' } })
  if (r.status !== 0) throw new Error(`python exited ${r.status}:\n${r.stderr.slice(-3000)}`)
  return JSON.parse(r.stdout.trim().split('\n').pop()!)
}
