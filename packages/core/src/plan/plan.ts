import { existsSync, readFileSync } from 'node:fs'
import type { ChosenTemplate } from '../template-choice.ts'
import { join } from 'node:path'
import type { BackendCapabilities } from '../backend.ts'
import { isTunekitError, issue, type Issue } from '../errors/tunekit-error.ts'
import type { FamilyInfo, ModelConfig } from '../families/types.ts'
import { artifactDir, isCached } from '../cache/store.ts'
import { familyInfo } from '../families/index.ts'
import type { Graph } from '../graph/types.ts'
import { nodeParams, type NodeParams } from '../nodes/index.ts'
import { graphFigures, readBatchPlan, type Figures } from './data-figures.ts'
import { estimateDisk, type DiskEstimate } from './disk.ts'
import { estimateEncoderMemory } from './encoder-memory.ts'
import { estimateMemory, gb, type Dtype, type MemoryEstimate, type MemoryTarget } from './memory.ts'
import { autoTemplateIssues, probeAutoFamily, type WeightShapeReader } from './auto-modules.ts'
import { addedTokenCount, countParams, modelSizeAndIssues, type ModelParams, type ModelSize, type ParamCounts } from './model-size.ts'
import { costSeconds, processPeakBytes, runCost, type CostCalibration, type RunShape, type TrainedParts } from './cost-model.ts'
import { NVIDIA_DRIVER_SIGNS, nvidiaDriverPresent } from './nvidia-driver.ts'
import { defaultThroughputFile, pickCostModel, pickThroughput, readThroughput, type ThroughputFigure } from './throughput.ts'

/**
 * Checks a local model folder beyond its config.json (weights' headers against the config,
 * tokenizer files) and returns the problems; reads headers only, never tensors. @tunekit/hf's
 * `inspectModelFolder` is the implementation (core reads no safetensors).
 */
export type ModelInspector = (dir: string, model: { family: string; config: ModelConfig }) => Issue[]

/** Options of {@link plan}. */
export interface PlanOptions {
  cacheDir: string
  /** The backend that would run, as resolved (`resolveBackend`); without it the plan assumes one and says so. */
  backend?: { name: 'tfjs' | 'torch'; capabilities: BackendCapabilities }
  /** Throughput figures for the ETA; default `packages/core/throughput.json` (or `TUNEKIT_THROUGHPUT`). */
  throughputFile?: string
  /** Checks the local model folder's weights and tokenizer; without it only config.json is checked. */
  inspectModel?: ModelInspector
  /**
   * Reads a local folder's weight names and shapes (safetensors headers): family 'auto' takes its
   * module names and parameter counts from them; without it an 'auto' plan has no counts.
   */
  weightShapes?: WeightShapeReader
  /**
   * Whether the machine shows an NVIDIA driver, for torch's device 'auto' when `backend` is not
   * given; default {@link nvidiaDriverPresent} (the file system, no Python started).
   */
  nvidiaDriver?: boolean
}

export interface PlanNode {
  id: string
  kind: string
  key: string
  runsOn: 'data' | 'backend'
  status: 'cached' | 'to run'
  /** Numbers the cached data node reported (samples, tokens, truncated, steps per epoch, …). */
  figures: Figures
}

export interface PlanData {
  /** `cache`: read from the batch plan; `estimate`: from sample counts; `unknown`: data nodes have not run. */
  from: 'cache' | 'estimate' | 'unknown'
  trainSamples?: number
  stepsPerEpoch?: number
  totalSteps?: number
  /** Padded tokens the whole run pushes through the model. */
  tokens?: number
  /** Rows × padded length² summed over the run's micro-batches (the cost model's attention term). */
  squaredTokens?: number
  /** Labelled tokens of the run (what a chunked loss sends through the head). */
  trainedTokens?: number
  seqLen: number
}

export type PlanEta =
  | { seconds: number; tokensPerSecond: number; tokens: number; how: string; figure: ThroughputFigure; costModel?: CostCalibration }
  | { seconds: null; reason: string }
  | { seconds: 0; cached: true }

/** Everything `tunekit plan` shows; also its `--json` output. */
export interface Plan {
  version: 1
  recipeName: string
  backend: { name: 'tfjs' | 'torch'; engine: string; device: string; reason: string; assumed: boolean; memoryBytes?: number }
  nodes: PlanNode[]
  data: PlanData
  /** The chat template and the rule that chose it (graph.json's `template`); absent where nothing renders chat. */
  template?: ChosenTemplate
  model: (ModelSize & { params: ParamCounts }) | { id: string; reason: string }
  memory: MemoryEstimate | null
  /** Disk the artifacts still to write need in the cache, and what is free there; `null` when the model size is unknown. */
  disk: DiskEstimate | null
  eta: PlanEta
  notes: string[]
  /**
   * Problems found without compute (config.json, weights' headers, tokenizer files): an `error`
   * means the run would fail, so `run` stops before the first node.
   */
  issues: Issue[]
}

/**
 * The backend and device a run would get, without loading either backend. Torch's device 'auto'
 * is CUDA only where the machine shows an NVIDIA driver (`nvidiaDriver`): without one the answer
 * is certain (the CPU), with one it is assumed (a CPU-only torch wheel would still run on the CPU).
 */
function assumeBackend(train: Pick<NodeParams<'train'>, 'device' | 'backend' | 'model'>, nvidiaDriver: boolean): Plan['backend'] {
  const autoCuda = train.backend === 'torch' || (train.backend === 'auto' && train.model.quantize !== undefined)
  const cuda = train.device === 'cuda' || (train.device === 'auto' && autoCuda && nvidiaDriver)
  if (train.backend !== 'tfjs' && train.device !== 'wasm' && cuda) {
    return { name: 'torch', engine: 'torch-cuda', device: 'cuda', reason: 'not probed: assumed torch on CUDA (what backend \'auto\' picks where a CUDA torch is present)', assumed: true }
  }
  if (train.backend === 'torch') {
    const why = train.device === 'auto' ? `device 'auto' on a machine with no NVIDIA driver (${NVIDIA_DRIVER_SIGNS})` : `device '${train.device}'`
    return { name: 'torch', engine: 'torch-cpu', device: 'cpu', reason: `not probed: torch on the CPU, from ${why}`, assumed: true }
  }
  // tfjs's engine order puts wasm before pure-JS cpu and wasm always loads, so 'auto' gets wasm.
  const device = train.device === 'cpu' ? 'cpu' : 'wasm'
  const why = train.backend === 'auto' && train.device === 'auto' && autoCuda ? `on a machine with no NVIDIA driver (${NVIDIA_DRIVER_SIGNS})` : 'without CUDA'
  return { name: 'tfjs', engine: `tfjs-${device}`, device, reason: `not probed: assumed tfjs (what backend 'auto' picks ${why})`, assumed: true }
}

const ceil = Math.ceil

/** WebAssembly's 32-bit memory: what tfjs-backend-wasm can ever hold. */
export const WASM_MEMORY_BYTES = 2 ** 32

function planData(graph: Graph, figures: Record<string, Figures>, train: NodeParams<'train'>, cacheDir: string, maxLength: number): PlanData {
  const collate = graph.nodes.find((n) => n.id === 'collate')
  const batch = collate && isCached(cacheDir, collate.key) ? readBatchPlan(artifactDir(cacheDir, collate.key)) : null
  const { gradientAccumulationSteps: accum, epochs, maxSteps } = train.args
  // a preference objective forwards a chosen and a rejected row per pair (TRL's concatenated batch)
  const batchSize = train.args.batchSize * (train.objective ? 2 : 1)
  if (batch) {
    const perMicro = batch.meanMicroBatchTokens ?? batchSize * batch.seqLen
    const micro = batch.totalSteps * accum
    const tokens = Math.round(micro * perMicro)
    return {
      from: 'cache', stepsPerEpoch: batch.stepsPerEpoch, totalSteps: batch.totalSteps, tokens,
      squaredTokens: Math.round(micro * (batch.meanMicroBatchSquares ?? perMicro * batch.seqLen)),
      trainedTokens: batch.trainedTokensPerEpoch !== undefined ? Math.round((batch.trainedTokensPerEpoch * batch.totalSteps) / batch.stepsPerEpoch) : tokens,
      seqLen: batch.maxMicroBatchLength ?? batch.seqLen, ...(figures.split?.trainSamples !== undefined ? { trainSamples: figures.split.trainSamples } : {}),
    }
  }
  // without a split (a preference stage batches its pairs itself) every tokenized pair trains
  const trainSamples = figures.split?.trainSamples ?? (graph.nodes.some((n) => n.kind === 'split') ? undefined : figures.tokenize?.samples)
  if (trainSamples !== undefined) {
    const stepsPerEpoch = ceil(ceil(trainSamples / train.args.batchSize) / accum)
    const totalSteps = maxSteps ?? ceil(stepsPerEpoch * epochs)
    // Without a batch plan, every micro-batch is assumed padded to maxLength: an upper bound.
    return { from: 'estimate', trainSamples, stepsPerEpoch, totalSteps, ...paddedToMax(totalSteps * accum * batchSize, maxLength) }
  }
  if (maxSteps !== undefined) return { from: 'estimate', totalSteps: maxSteps, ...paddedToMax(maxSteps * accum * batchSize, maxLength) }
  return { from: 'unknown', seqLen: maxLength }
}

/** Token figures of `rows` rows all padded to maxLength (before collate ran: an upper bound). */
const paddedToMax = (rows: number, maxLength: number): Pick<PlanData, 'tokens' | 'squaredTokens' | 'trainedTokens' | 'seqLen'> =>
  ({ tokens: rows * maxLength, squaredTokens: rows * maxLength * maxLength, trainedTokens: rows * maxLength, seqLen: maxLength })

/**
 * Plans a run without loading weights: each node's cache status, what the cached data nodes
 * know, parameter counts, a memory estimate (weights, adapters, gradients, optimizer states,
 * activations) for the backend and device, and an ETA from the benchmarks' throughput figures.
 */
export function plan(graph: Graph, opts: PlanOptions): Plan {
  const notes: string[] = []
  const figures = graphFigures(graph, opts.cacheDir)
  const nodes: PlanNode[] = graph.nodes.map((n) => ({
    id: n.id, kind: n.kind, key: n.key, runsOn: n.runsOn, status: isCached(opts.cacheDir, n.key) ? 'cached' : 'to run', figures: figures[n.id] ?? {},
  }))
  // the figures are this recipe's: a chained recipe's nodes (`tiny-chat/train`) are listed, not planned
  const own: Graph = { ...graph, nodes: graph.nodes.filter((n) => !n.id.includes('/')) }
  const trainNode = own.nodes.find((n) => n.kind === 'train')
  const modelNode = own.nodes.find((n) => n.kind === 'model')
  const qaTrain = own.nodes.find((n) => n.kind === 'qa-train')
  if (!trainNode && qaTrain) return qaPlan(graph, nodes, qaTrain, opts)
  const collateNode = own.nodes.find((n) => n.kind === 'collate')
  const tokenizeNode = own.nodes.find((n) => n.kind === 'tokenize')
  if (!trainNode || !modelNode || !tokenizeNode) throw new Error('plan needs a graph with model, tokenize and train nodes (made by compile)')
  const train = nodeParams('train', trainNode)
  // data.maxLength: the batch plan's (collate), or the tokenize node's for a stage without one (dpo)
  const maxLength = collateNode ? nodeParams('collate', collateNode).maxLength : nodeParams('tokenize', tokenizeNode).maxLength

  const caps = opts.backend?.capabilities
  const backend: Plan['backend'] = opts.backend && caps
    ? { name: opts.backend.name, engine: caps.engine, device: caps.device, reason: caps.reason, assumed: false, ...(caps.memoryBytes !== undefined ? { memoryBytes: caps.memoryBytes } : {}) }
    : assumeBackend(train, opts.nvidiaDriver ?? nvidiaDriverPresent())
  const data = planData(own, figures, train, opts.cacheDir, maxLength)
  if (data.from === 'unknown') notes.push(`steps and tokens are unknown until the data nodes run (tunekit run --until ${collateNode ? 'collate' : 'tokenize'})`)
  if (data.from === 'estimate') notes.push('steps estimated from sample counts; micro-batches assumed padded to maxLength')

  const { size, issues } = inspectedModelSize(modelNode, train.model, opts)
  const render = nodeParams('tokenize', tokenizeNode).render
  if (train.model.family === 'auto' && !('reason' in size) && size.dir !== undefined && render.kind === 'chat') issues.push(...autoTemplateIssues(size.dir, render.template))
  let model: Plan['model']
  let memory: MemoryEstimate | null = null
  let disk: DiskEstimate | null = null
  if ('reason' in size) {
    model = { id: train.model.id, reason: size.reason }
    notes.push(`no parameter counts or memory estimate: ${size.reason}`)
  } else {
    const family = size.family === 'auto' ? autoFamilyOf(size, train.method, opts, issues) : familyInfo(size.family)!
    if (!family) return { version: 1, recipeName: graph.recipeName, backend, nodes, data, model: { id: train.model.id, reason: AUTO_NO_READER }, memory, disk, eta: { seconds: null, reason: 'model size unknown' }, notes: [...notes, `no parameter counts or memory estimate: ${AUTO_NO_READER}`], issues }
    const params = countParams(family, size.config, train.method, addedTokenCount(train.tokens), train.model.vision)
    model = { ...size, params }
    const target: MemoryTarget = {
      backend: backend.name, device: backend.device,
      dtypes: (caps?.dtypes ?? (backend.device === 'cuda' ? ['float32', 'float16', 'bfloat16'] : ['float32'])) as readonly Dtype[],
      memoryBytes: backend.memoryBytes,
    }
    memory = trainMemory(family, size.config, params, train, data, target)
    const cal = pickCostModel(readThroughput(opts.throughputFile ?? defaultThroughputFile()), backend.name, backend.device)
    if (cal) {
      memory.process = { bytes: processPeakBytes(memory.total, cal), how: `${gb(cal.rssBaseBytes)} + ${cal.rssScale.toFixed(2)} × the estimate (${cal.bench}, ${cal.measuredAt})` }
    }
    const peak = memory.process?.bytes ?? memory.total
    if (backend.name === 'tfjs' && backend.device === 'wasm' && peak > WASM_MEMORY_BYTES) {
      issues.push(issue('WasmMemoryLimit', { path: 'args.batchSize', value: train.args.batchSize, severity: 'warning' }, gb(peak)))
    }
    disk = estimateDisk({
      graph, cacheDir: opts.cacheDir, params, figures, args: train.args, maxLength,
      weightBytes: ['float16', 'bfloat16'].includes(train.model.dtype ?? '') ? 2 : 4, random: modelNode.params.random != null,
    })
  }
  return { version: 1, recipeName: graph.recipeName, backend, nodes, data, ...(graph.template ? { template: graph.template } : {}), model, memory, disk, eta: isCached(opts.cacheDir, trainNode.key) ? { seconds: 0, cached: true } : planEta(opts, backend, model, data, train), notes, issues }
}

const AUTO_NO_READER = "family 'auto' counts from the folder's weights, and plan was given no weightShapes reader (or no folder)"

/** Family 'auto': the entry built from the folder's weights, its module-name issues added to `issues`; undefined without a folder or reader. */
function autoFamilyOf(size: ModelSize, method: NodeParams<'train'>['method'], opts: PlanOptions, issues: Issue[]): ReturnType<typeof familyInfo> {
  if (size.dir === undefined || !opts.weightShapes) return undefined
  try {
    const probed = probeAutoFamily(size.dir, size.config, method, opts.weightShapes)
    issues.push(...probed.issues)
    return probed.family
  } catch (e) {
    // unreadable headers: the inspector has listed them already
    if (isTunekitError(e)) return undefined
    throw e
  }
}

/** The model's size from the model node, and the checks of its folder when one is on disk (`opts.inspectModel`). */
function inspectedModelSize(modelNode: Graph['nodes'][number] | undefined, model: ModelParams, opts: PlanOptions): { size: ModelSize | { reason: string }; issues: Issue[] } {
  if (!modelNode) return { size: { reason: 'no model node' }, issues: [] }
  const { size, issues } = modelSizeAndIssues(modelNode, model)
  if (!('reason' in size) && size.dir !== undefined && opts.inspectModel) issues.push(...opts.inspectModel(size.dir, { family: size.family, config: size.config }))
  return { size, issues }
}

/** The qa-features report's training windows, when that node is cached (plan reads no data otherwise). */
function trainWindows(cacheDir: string, features: Graph['nodes'][number] | undefined): number | undefined {
  if (!features || !isCached(cacheDir, features.key)) return undefined
  const file = join(artifactDir(cacheDir, features.key), 'report.json')
  if (!existsSync(file)) return undefined
  const windows = (JSON.parse(readFileSync(file, 'utf8')) as { trainWindows?: unknown }).trainWindows
  return typeof windows === 'number' ? windows : undefined
}

/**
 * The qa stage's plan: each node's cache status, the backend, the encoder's parameter counts and
 * a memory estimate (estimateEncoderMemory: float32, eager attention, windows of maxLength as the
 * worst case), steps from the cached qa-features windows; no ETA (the throughput figures are the
 * decoders'), which the notes say.
 */
function qaPlan(graph: Graph, nodes: PlanNode[], qaTrain: Graph['nodes'][number], opts: PlanOptions): Plan {
  const train = nodeParams('qa-train', qaTrain)
  const features = graph.nodes.find((n) => n.kind === 'qa-features')
  const modelNode = graph.nodes.find((n) => n.kind === 'model')
  const seqLen = features ? nodeParams('qa-features', features).maxLength : 0
  const caps = opts.backend?.capabilities
  const backend: Plan['backend'] = opts.backend && caps
    ? { name: opts.backend.name, engine: caps.engine, device: caps.device, reason: caps.reason, assumed: false, ...(caps.memoryBytes !== undefined ? { memoryBytes: caps.memoryBytes } : {}) }
    : assumeBackend(train, opts.nvidiaDriver ?? nvidiaDriverPresent())
  const notes: string[] = []
  const windows = trainWindows(opts.cacheDir, features)
  const a = train.args
  const batch = a.batchSize * a.gradientAccumulationSteps
  const stepsPerEpoch = windows === undefined ? undefined : Math.ceil(windows / batch)
  const totalSteps = a.maxSteps ?? (stepsPerEpoch === undefined ? undefined : stepsPerEpoch * a.epochs)
  const data: PlanData = totalSteps === undefined
    ? { from: 'unknown', seqLen }
    : { from: windows === undefined ? 'estimate' : 'cache', totalSteps, tokens: totalSteps * batch * seqLen, seqLen, ...(stepsPerEpoch !== undefined ? { stepsPerEpoch, trainSamples: windows } : {}) }
  if (windows === undefined) notes.push('steps are unknown until qa-features runs (tunekit run --until qa-features); tokens assume windows of maxLength')
  const { size, issues } = inspectedModelSize(modelNode, train.model, opts)
  let model: Plan['model']
  let memory: MemoryEstimate | null = null
  if ('reason' in size) {
    model = { id: train.model.id, reason: size.reason }
    notes.push(`no parameter counts or memory estimate: ${size.reason}`)
  } else {
    const family = familyInfo(size.family)!
    // PEFT's question-answering head always trains in full beside the adapters (the qa-train nodes add it).
    const method = train.method.kind === 'lora' ? { ...train.method, modulesToSave: [...new Set(['qa_outputs', ...train.method.modulesToSave])] } : train.method
    const params = countParams(family, size.config, method, 0)
    model = { ...size, params }
    const target: MemoryTarget = { backend: backend.name, device: backend.device, dtypes: ['float32'], memoryBytes: backend.memoryBytes }
    memory = estimateEncoderMemory({ family, config: size.config, params, model: train.model, method, optimizer: a.optimizer, batchSize: a.batchSize, seqLen, target })
  }
  const reason = 'no throughput figure for encoders yet: the stored figures are decoders\' tokens/s'
  return {
    version: 1, recipeName: graph.recipeName, backend, nodes, data, model,
    memory, disk: null, eta: isCached(opts.cacheDir, qaTrain.key) ? { seconds: 0, cached: true } : { seconds: null, reason }, notes, issues,
  }
}

function planEta(opts: PlanOptions, backend: Plan['backend'], model: Plan['model'], data: PlanData, train: NodeParams<'train'>): PlanEta {
  const file = opts.throughputFile ?? defaultThroughputFile()
  if (!('params' in model)) return { seconds: null, reason: 'model size unknown' }
  if (data.tokens === undefined) return { seconds: null, reason: 'token count unknown until the data nodes run' }
  const figures = readThroughput(file)
  const cal = pickCostModel(figures, backend.name, backend.device)
  if (cal && 'config' in model) {
    const seconds = costSeconds(runCost(model.config, model.params, trainedParts(train), runShape(data, train, backend.name, backend.device, familyInfo(model.family))), cal)
    const figure: ThroughputFigure = {
      backend: backend.name, engine: cal.engine, device: cal.device, model: model.id, params: model.params.base,
      batchSize: train.args.batchSize, seqLen: data.seqLen, tokensPerSecond: data.tokens / seconds, measuredAt: cal.measuredAt, bench: cal.bench,
    }
    const how = `cost model of ${backend.engine}: ${(cal.matmulFlopsPerSecond / 1e9).toFixed(1)} GFLOP/s, ${(cal.elementsPerSecond / 1e9).toFixed(2)} G element passes/s, ${cal.startSeconds.toFixed(0)} s start-up (${cal.bench}, ${cal.measuredAt})`
    return { seconds, tokensPerSecond: data.tokens / seconds, tokens: data.tokens, how, figure, costModel: cal }
  }
  const pick = pickThroughput(figures, backend.name, backend.device, model.id, model.params.base, train.model.quantize?.type ?? null)
  const reported = opts.backend?.capabilities.throughput?.tokensPerSecondPerBillionParams
  if (!pick && reported) {
    // The backend's own figure, per billion parameters: tokens/s falls in proportion to size.
    const tokensPerSecond = reported / (model.params.base / 1e9)
    const figure: ThroughputFigure = {
      backend: backend.name, engine: backend.engine, device: backend.device, model: model.id, params: model.params.base,
      batchSize: train.args.batchSize, seqLen: data.seqLen, tokensPerSecond, measuredAt: 'reported by the backend', bench: 'capabilities().throughput',
    }
    return { seconds: data.tokens / tokensPerSecond, tokensPerSecond, tokens: data.tokens, how: `the backend's figure of ${reported} tokens/s per billion parameters`, figure }
  }
  if (!pick) return { seconds: null, reason: `no throughput figure for ${backend.name} on ${backend.device} in ${file}; run the benchmarks (bench/README.md)` }
  return { seconds: data.tokens / pick.tokensPerSecond, tokensPerSecond: pick.tokensPerSecond, tokens: data.tokens, how: pick.how, figure: pick.figure }
}

/**
 * The memory estimate of one training step of `train` on `target`, for the batch plan's longest
 * micro-batch and labelled share (`data`); bench/vs-trainer.ts re-estimates its recorded rows with it.
 */
export function trainMemory(
  family: FamilyInfo, config: ModelConfig, params: ParamCounts, train: Pick<NodeParams<'train'>, 'model' | 'method' | 'args' | 'objective'>, data: PlanData, target: MemoryTarget,
): MemoryEstimate {
  const labelledShare = data.trainedTokens !== undefined && data.tokens ? data.trainedTokens / data.tokens : 1
  return estimateMemory({
    family, config, params, model: train.model, method: train.method, optimizer: train.args.optimizer,
    // a preference objective forwards a chosen and a rejected row per pair
    batchSize: train.args.batchSize * (train.objective ? 2 : 1), seqLen: data.seqLen, target, labelledShare,
    chunkedLoss: target.backend === 'torch' && torchChunkedLoss(train, target.device, family),
  })
}

/**
 * Whether the torch worker computes its loss chunked (tunekit_torch/speed.py): `args.chunkedLoss`
 * where set, else on the CPU for a text model (a vision-language model keeps the whole logits).
 */
export function torchChunkedLoss(train: Pick<NodeParams<'train'>, 'args'>, device: string, family: Pick<FamilyInfo, 'vision'> | undefined): boolean {
  return train.args.chunkedLoss ?? (device === 'cpu' && family?.vision === undefined)
}

/** What the method trains beside its adapters: lm_head's weight gradient, embed_tokens' dense one. */
export function trainedParts(train: Pick<NodeParams<'train'>, 'method'>): TrainedParts {
  const m = train.method
  const saved: readonly string[] = 'modulesToSave' in m && Array.isArray(m.modulesToSave) ? m.modulesToSave : []
  const full = m.kind === 'full'
  return { head: full || saved.includes('lm_head'), embeddings: full || saved.includes('embed_tokens') }
}

/**
 * The run's shape for the cost model. Only the labelled tokens go through the vocabulary head on
 * tfjs (its loss gathers their rows before the head: packages/tfjs/src/train/loss.ts) and under
 * torch's chunked loss: `args.chunkedLoss: true`, or left out on the CPU, where the worker turns it
 * on for a text model (tunekit_torch/speed.py; vision models keep the whole logits). torch's plain
 * loss runs the head on every padded token.
 */
export function runShape(data: PlanData, train: Pick<NodeParams<'train'>, 'args'>, backend: 'tfjs' | 'torch', device: string, family: Pick<FamilyInfo, 'vision'> | undefined): RunShape {
  const tokens = data.tokens ?? 0
  const labelledOnly = backend === 'tfjs' || (backend === 'torch' && torchChunkedLoss(train, device, family))
  return { steps: data.totalSteps ?? 0, paddedTokens: tokens, squaredTokens: data.squaredTokens ?? tokens * data.seqLen, headTokens: labelledOnly ? (data.trainedTokens ?? tokens) : tokens }
}
