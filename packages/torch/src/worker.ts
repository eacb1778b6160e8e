// Runs one graph node on the run's worker process (worker-pool.ts): writes the node spec, streams
// the worker's JSON-line events to ctx.emit, turns Ctrl-C (ctx.signal) into SIGINT = "checkpoint and stop", and maps
// failures to catalog errors with the last lines of the worker's log.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fail, type NodeContext, type RunEventInput } from '@tunekit/core'
import { callProcess, callWorker, EXIT_INTERRUPTED, EXIT_UNAVAILABLE } from './worker-pool.ts'
import { distributedOf, torchrunArgs } from './torchrun.ts'

export { EXIT_INTERRUPTED, EXIT_UNAVAILABLE }

const EVENT_TYPES = new Set(['node-progress', 'step', 'eval', 'checkpoint', 'sample', 'log'])

/** The node spec the worker reads (`python -m tunekit_torch run node.json`). */
export interface NodeSpec {
  version: 1
  node: { id: string; kind: string; key: string; params: unknown }
  /** Input node id → its kind and artifact folder. */
  inputs: Record<string, { kind: string; dir: string }>
  outDir: string
  workDir: string
  device: 'auto' | 'cpu' | 'cuda'
  /** Adapter folder written by the TS side from the seed (both backends start from it). */
  initialAdapter?: string
  /** A preference stage's steps of pair indices (@tunekit/data's pairPlan), written by the TS side. */
  pairPlan?: string
  /** The grpo stage's steps of prompt indices (@tunekit/data's grpoPlan), written by the TS side (grpo-node.ts). */
  grpoPlan?: string
  /** The kto stage's examples and KL completions (kto-examples.ts), written by the TS side for ref-logprobs and train. */
  ktoExamples?: string
  /** The qa stage's steps of window indices (qa-plan.ts), written by the TS side. */
  qaPlan?: string
  /** Set when the worker runs as torchrun's processes (torchrun.ts): how each wraps the model. */
  distributed?: { strategy: 'ddp' | 'fsdp' }
}

export function nodeSpec(ctx: NodeContext, initialAdapter?: string): NodeSpec {
  const inputs: NodeSpec['inputs'] = {}
  for (const id of ctx.node.inputs) {
    const kind = ctx.graph.nodes.find((n) => n.id === id)?.kind ?? id
    inputs[id] = { kind, dir: ctx.input(id) }
  }
  const wanted = ctx.recipe.device
  const spec: NodeSpec = {
    version: 1,
    node: { id: ctx.node.id, kind: ctx.node.kind, key: ctx.node.key, params: ctx.node.params },
    inputs,
    outDir: ctx.outDir,
    workDir: ctx.workDir,
    device: wanted === 'cuda' || wanted === 'cpu' ? wanted : 'auto',
  }
  if (initialAdapter) spec.initialAdapter = initialAdapter
  const distributed = distributedOf(ctx)
  if (distributed) spec.distributed = { strategy: distributed.strategy }
  return spec
}

interface WorkerError {
  type: 'error'
  name: string
  message: string
  fix: string | null
  args?: unknown[]
}

/** Runs a spec on the run's worker and resolves when it finishes; rejects with a catalog error. */
export async function runWorkerNode(
  python: string,
  ctx: NodeContext,
  spec: NodeSpec,
  options: {
    onLog?: (line: string) => void
    /** After Ctrl-C, how long the worker may take to checkpoint before it is killed. @defaultValue 300000 */
    interruptGraceMs?: number
    /**
     * Answers a request the worker asks mid-call (an event of type `reward-request`) with the line
     * written to its stdin; a rejection answers `{ "error": message }`, which ends the worker's
     * call, and is what runWorkerNode then throws (the catalog error of a failing reward).
     */
    onRequest?: (event: { type: string }) => Promise<string>
  } = {},
): Promise<void> {
  await mkdir(ctx.workDir, { recursive: true })
  const specPath = join(ctx.workDir, `node-${ctx.node.id}.json`)
  await writeFile(specPath, JSON.stringify(spec, null, 2))
  const distributed = distributedOf(ctx)
  const logLines: string[] = []
  let workerError: WorkerError | undefined
  const onStderr = (line: string): void => {
    logLines.push(line)
    if (logLines.length > 200) logLines.shift()
    options.onLog?.(line)
  }
  const onStdout = (line: string): void => {
    if (!line.startsWith('{')) return void logLines.push(line)
    let event: { type?: string }
    try {
      event = JSON.parse(line) as { type?: string }
    } catch {
      return void logLines.push(line)
    }
    if (event.type === 'error') workerError = event as WorkerError
    // a request no handler answers is refused, never left waiting (the worker blocks on it)
    else if (event.type === 'reward-request') answering = answering.then(() => answerRequest(options.onRequest ?? noAnswer, event as { type: string }))
    else if (event.type && EVENT_TYPES.has(event.type)) ctx.emit(event as RunEventInput)
  }
  const noAnswer = (): Promise<string> => Promise.reject(new Error(`${ctx.node.id}: the worker asked for rewards and this node answers none`))
  // the worker blocks on each request until its answer, so the answers queue in order
  let answering = Promise.resolve()
  let requestError: unknown
  const answerRequest = async (onRequest: (event: { type: string }) => Promise<string>, event: { type: string }): Promise<void> => {
    let line: string
    try {
      line = await onRequest(event)
    } catch (e) {
      requestError ??= e
      line = JSON.stringify({ error: e instanceof Error ? e.message : String(e) })
    }
    call.write(line)
  }
  // torchrun's ranks are processes of their own; every other node runs on the run's worker
  const call = distributed ? callProcess(python, torchrunArgs(specPath, distributed), { onStdout, onStderr }) : callWorker(python, { command: 'run', file: specPath }, { onStdout, onStderr })
  let killTimer: NodeJS.Timeout | undefined
  const interrupt = (): void => {
    call.kill('SIGINT') // the worker finishes its step, checkpoints and exits 75
    killTimer = setTimeout(() => call.kill('SIGKILL'), options.interruptGraceMs ?? 300_000)
    killTimer.unref()
  }
  if (ctx.signal.aborted) interrupt()
  else ctx.signal.addEventListener('abort', interrupt, { once: true })
  const { code, signal, spawnError } = await call.done
  await answering
  ctx.signal.removeEventListener('abort', interrupt)
  if (killTimer) clearTimeout(killTimer)
  const node = ctx.node.id
  const logTail = logLines.slice(-20).join('\n')
  if (spawnError) fail('PythonMissing', { path: 'backend', value: python }, [`${python} (${spawnError.code ?? spawnError.message})`])
  if (requestError !== undefined) throw requestError
  if (code === 0) return
  // torchrun answers its processes' exit 75 with its own failure code: after Ctrl-C that is the interrupt
  if (code === EXIT_INTERRUPTED || (ctx.signal.aborted && (signal === 'SIGINT' || code === 130 || distributed !== undefined))) fail('Interrupted', { path: node }, node)
  if (workerError?.name === 'CudaUnavailable') fail('CudaUnavailable', { path: 'device', value: ctx.recipe.device }, workerError.message)
  if (workerError?.name === 'GaloreUnavailable') fail('GaloreUnavailable', { path: 'args.optimizer', value: 'galore_adamw' }, workerError.message)
  if (workerError?.name === 'LoftqUnavailable') fail('LoftqUnavailable', { path: 'lora.initLoraWeights', value: 'loftq' }, workerError.message)
  if (workerError?.name === 'NonFiniteLoss') {
    const [step, loss] = workerError.args ?? []
    fail('NonFiniteLoss', { path: node }, Number(step), loss === null ? Number.NaN : Number(loss))
  }
  // family 'auto': a modules_to_save name PEFT would match with no module of the loaded model (methods.py)
  if (workerError?.name === 'AutoModuleNotFound') {
    const [module, dir, modelType, names] = (workerError.args ?? []).map(String)
    const listed = (names ?? '').split(',')
    // no spelling guess: a stored name the loader renamed is not a typo of its neighbour (embed_out is not embed_in)
    fail('AutoModuleNotFound', { path: 'lora.modulesToSave', value: module, hintArgs: [module ?? '', []] }, module ?? '', dir ?? '', modelType ?? '', listed, 'modules outside the decoder layers of the model transformers loads')
  }
  // the speed options' refusals (tunekit_torch/speed.py)
  if (workerError?.name === 'PaddingFreeVirtualTokens') fail('PaddingFreeVirtualTokens', { path: 'args.paddingFree', value: true }, Number(workerError.args?.[0]))
  if (workerError?.name === 'TorchCompileUnavailable') fail('TorchCompileUnavailable', { path: 'args.torchCompile', value: true }, String(workerError.args?.[0] ?? workerError.message))
  const reason = workerError
    ? `${node}: ${workerError.message}`
    : `${node}: the worker ${signal ? `was killed by ${signal}` : `exited with code ${code}`}`
  fail('WorkerFailed', { path: node }, reason, logTail)
}
