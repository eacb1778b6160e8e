// createTorchBackend: the train, merge, generate and eval nodes on PyTorch + transformers + PEFT,
// each in a worker process started per node.
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { pixelRequest } from './pixel-request.ts'
import { completeGenerateRequest, fail, formatIssue, inputOfKind, nodeParams, warmStartDir, type Backend, type BackendCapabilities, type NodeContext, type NodeExecutor } from '@tunekit/core'
import { writeInitialAdapter } from './initial-adapter.ts'
import { writeMergeMetadata, writeTrainMetadata } from './metadata.ts'
import { installCommand, probeTorch, versionMismatches, type TorchProbe } from './probe.ts'
import { nodeSpec, runWorkerNode } from './worker.ts'
import { distributedOf } from './torchrun.ts'
import { workerRequest } from './worker-request.ts'
import { writePairPlan } from './pair-plan.ts'
import { writeQaPlan } from './qa-plan.ts'
import { writeQaTokenizer } from './qa-tokenizer.ts'
import { runQaEval } from './qa-eval-node.ts'
import { writeQaInitialTensors } from './qa-initial.ts'
import { ktoWeightAdvice, requirePreferencePairs } from '@tunekit/data'
import { writeKtoExamples } from './kto-examples.ts'
import { finishScore, prepareScore } from './score-node.ts'
import { prepareGrpo, type RewardRequest } from './grpo-node.ts'

export interface TorchBackendOptions {
  /** Python with the worker's packages. @defaultValue TUNEKIT_PYTHON, then the managed venv */
  python?: string
  /** Fail (instead of warning) when installed versions differ from the lock. @defaultValue false */
  strictVersions?: boolean
  /**
   * Writes the seeded initial adapter for a train node and returns its folder, so both backends
   * start from the same weights; `false`: the worker uses PEFT's own seeded init and says so.
   * @defaultValue writeInitialAdapter (from @tunekit/hf's initialAdapter)
   */
  initialAdapter?: false | ((ctx: NodeContext) => Promise<string | undefined>)
  /** Lines of the worker's log (stderr), e.g. for `--verbose`. */
  onLog?: (line: string) => void
}

function describe(p: TorchProbe): BackendCapabilities {
  const gpu = p.devices[0]
  const quantize: BackendCapabilities['quantize'] = p.bitsandbytes ? ['nf4', 'fp4', 'int8'] : []
  if (p.cuda) {
    return {
      engine: 'torch-cuda',
      device: 'cuda',
      reason: `torch ${p.versions.torch} with CUDA ${p.cudaVersion} on ${gpu?.name ?? 'a GPU'}${p.bitsandbytes ? `, bitsandbytes ${p.versions.bitsandbytes}` : ', no bitsandbytes (4-bit maps to unquantised weights)'}`,
      dtypes: p.bf16 ? ['float32', 'float16', 'bfloat16'] : ['float32', 'float16'],
      quantize,
      ...(gpu ? { memoryBytes: gpu.memoryBytes } : {}),
    }
  }
  return {
    engine: 'torch-cpu',
    device: 'cpu',
    reason: `torch ${p.versions.torch} without CUDA at ${p.python}: CPU, float32, no 4-bit`,
    dtypes: ['float32'],
    quantize,
  }
}

/** The reference's warm-start adapter (`lora.init` naming a folder), which the worker loads over the base. */
function referenceAdapter(ctx: NodeContext): string | undefined {
  const { adapter } = nodeParams('ref-logprobs', ctx.node)
  return adapter === undefined ? undefined : warmStartDir(adapter, ctx.baseDir)
}

/** The torch backend. Probes the environment lazily (first node or capabilities()), once. */
/** kto's ref-logprobs and train nodes: the examples file the worker batches from (kto-examples.ts); undefined for other nodes. */
async function ktoExamplesOf(ctx: NodeContext, kind: string): Promise<string | undefined> {
  if (kind === 'ref-logprobs') {
    const p = nodeParams('ref-logprobs', ctx.node)
    return p.examples === 'unpaired' ? (await writeKtoExamples(ctx, p.klBatchSize)).file : undefined
  }
  if (kind !== 'train') return undefined
  const { objective, args } = nodeParams('train', ctx.node)
  if (objective?.kind !== 'kto') return undefined
  const { file, examples } = await writeKtoExamples(ctx, objective.lossType === 'kto' ? args.batchSize : undefined)
  // TRL's advice on unbalanced data, as tfjs's train node gives it
  const advice = ktoWeightAdvice(examples, objective.desirableWeight, objective.undesirableWeight)
  if (advice) ctx.emit({ type: 'log', node: ctx.node.id, level: 'warn', message: formatIssue(advice) })
  return file
}

export function createTorchBackend(options: TorchBackendOptions = {}): Backend {
  let checked: Promise<TorchProbe> | undefined
  const ready = (ctx?: NodeContext): Promise<TorchProbe> => {
    checked ??= probeTorch(options.python === undefined ? {} : { python: options.python }).then((probe) => {
      const mismatches = versionMismatches(probe.versions)
      if (mismatches.length > 0) {
        if (options.strictVersions) fail('PackageMismatch', { path: 'backend', value: probe.python, hintArgs: [installCommand(probe.python)] }, probe.python, mismatches)
        ctx?.emit({ type: 'log', level: 'warn', message: `torch backend: ${mismatches.join('; ')}; to install the tested versions run ${installCommand(probe.python)}` })
      }
      return probe
    })
    checked.catch(() => (checked = undefined))
    return checked
  }

  const executor = (kind: 'train' | 'ref-logprobs' | 'merge' | 'generate' | 'eval' | 'score' | 'qa-train'): NodeExecutor => async (ctx) => {
    const probe = await ready(ctx)
    if (ctx.recipe.device === 'cuda' && !probe.cuda) {
      fail('CudaUnavailable', { path: 'device', value: 'cuda' }, `device 'cuda' was requested but torch ${probe.versions.torch} at ${probe.python} sees no CUDA device`)
    }
    const write = options.initialAdapter ?? writeInitialAdapter
    const initial = kind === 'train' && write !== false ? await write(ctx) : kind === 'ref-logprobs' ? referenceAdapter(ctx) : kind === 'qa-train' ? await writeQaInitialTensors(ctx) : undefined
    ctx.emit({ type: 'log', node: ctx.node.id, level: 'info', message: `${kind} on ${describe(probe).engine} (${probe.python})` })
    // score: the prompts are encoded here and the answers decoded and scored here (score-node.ts)
    const held = kind === 'score' ? await prepareScore(ctx) : undefined
    const ktoExamples = await ktoExamplesOf(ctx, kind)
    if (kind === 'ref-logprobs' && !ktoExamples) await requirePreferencePairs(inputOfKind(ctx, 'tokenize'), ctx.recipe.stage.kind)
    const grpo = kind === 'train' ? await prepareGrpo(ctx) : undefined
    const pairPlan = kind === 'train' && !grpo ? await writePairPlan(ctx) : undefined
    const qaPlan = kind === 'qa-train' ? await writeQaPlan(ctx) : undefined
    const spec = { ...nodeSpec(ctx, initial), ...(pairPlan ? { pairPlan } : {}), ...(grpo ? { grpoPlan: grpo.plan } : {}), ...(qaPlan ? { qaPlan } : {}), ...(ktoExamples ? { ktoExamples } : {}) }
    await runWorkerNode(probe.python, ctx, spec, { ...(options.onLog ? { onLog: options.onLog } : {}), ...(grpo ? { onRequest: (event) => grpo.answer(event as RewardRequest) } : {}) })
    // under torchrun only machine 0 (node rank 0) wrote the artifact: this one stops, committing nothing
    const distributed = distributedOf(ctx)
    if (distributed && distributed.nodeRank > 0) fail('DistributedFollowerDone', { path: 'distributed.nodeRank', value: distributed.nodeRank }, distributed.nodeRank, distributed.nnodes)
    // the worker wrote the tensors; the metadata comes from @tunekit/hf, as on tfjs
    if (kind === 'train') await writeTrainMetadata(ctx)
    if (kind === 'merge') await writeMergeMetadata(ctx)
    if (kind === 'qa-train') await writeQaTokenizer(ctx)
    if (held) await finishScore(ctx, held)
  }

  return {
    name: 'torch',
    capabilities: async () => describe(await ready()),
    executors: { train: executor('train'), 'ref-logprobs': executor('ref-logprobs'), merge: executor('merge'), generate: executor('generate'), eval: executor('eval'), score: executor('score'), 'qa-train': executor('qa-train'), 'qa-eval': async (ctx) => runQaEval((await ready(ctx)).python, ctx) },
    generate: async (request, onToken) => {
      const probe = await ready()
      let text: string | undefined
      // every field spelled out (the worker keeps no defaults); no recipe here, so CUDA when there is one
      const { images, ...asked } = completeGenerateRequest(request)
      const pixels = pixelRequest(images ?? [])
      await workerRequest(probe.python, 'complete', { ...asked, device: 'auto', pixels: pixels.request }, (event) => {
        if (event.type === 'token' && typeof event.text === 'string' && event.text) onToken?.(event.text)
        else if (event.type === 'completion') text = typeof event.text === 'string' ? event.text : ''
      }, pixels.files)
      if (text === undefined) fail('WorkerFailed', { path: 'generate' }, 'the worker answered no completion', '')
      return text
    },
    rewards: async (request) => {
      const probe = await ready()
      let values: number[] | undefined
      await workerRequest(probe.python, 'rewards', { model: request.model, adapter: request.adapter ?? null, sequences: request.sequences, padId: request.padId, device: 'auto' }, (event) => {
        if (event.type === 'rewards') values = event.values as number[]
      })
      if (values === undefined) fail('WorkerFailed', { path: 'rewards' }, 'the worker answered no rewards', '')
      return values
    },
  }
}
