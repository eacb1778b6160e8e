import type { RunEventInput } from './events.ts'
import type { Graph, GraphNode, NodeKind } from './graph/types.ts'
import type { Recipe } from './define.ts'

/** What a node executor gets: where to read its inputs, where to write, how to report. */
export interface NodeContext {
  node: GraphNode
  graph: Graph
  recipe: Recipe
  /** Temporary folder the executor writes its artifact into; the runner renames it to the cache key. */
  outDir: string
  /** Persistent scratch folder of this node's key (checkpoints live here, so a rerun resumes). */
  workDir: string
  /** The artifact folder of an input node, by node id. */
  input: (id: string) => string
  /** The run folder (`recipe.output.dir`). */
  runDir: string
  /** Folder of the recipe file; relative paths in the recipe resolve from here. */
  baseDir: string
  emit: (event: RunEventInput) => void
  /** Aborted on Ctrl-C: a training node checkpoints and returns. */
  signal: AbortSignal
}

/** Runs one kind of node. */
export type NodeExecutor = (ctx: NodeContext) => Promise<void>

/** What a backend can do here, for `plan` and for `backend: 'auto'`. */
export interface BackendCapabilities {
  /** Engine actually in use, e.g. `tfjs-wasm`, `torch-cuda`. */
  engine: string
  device: 'cpu' | 'cuda' | 'wasm' | 'gpu'
  /** Why this engine was picked. */
  reason: string
  dtypes: ReadonlyArray<'float32' | 'float16' | 'bfloat16'>
  quantize: ReadonlyArray<'nf4' | 'fp4' | 'int8'>
  /** Bytes the device can hold, when known. */
  memoryBytes?: number
  /** Measured training throughput (tokens/s) per model size class, from the benchmarks. */
  throughput?: { tokensPerSecondPerBillionParams: number }
}

/** Text generation request, used by `tunekit chat` and sample generations. */
export interface GenerateRequest {
  /** Folder of a merged model, or of the base model when `adapter` is given. */
  model: string
  adapter?: string
  prompt: string
  maxNewTokens?: number
  temperature?: number
  topK?: number
  topP?: number
  seed?: number
  /**
   * Images of a vision-language model's prompt, preprocessed as its image processor does
   * (@tunekit/data's preprocessImage), in the order of their image tokens, which `prompt` already
   * holds expanded. The torch backend only (VisionNeedsTorch on tfjs).
   */
  images?: readonly GenerateImage[]
}

/** One preprocessed image of a {@link GenerateRequest}: what the pixel shards hold for an image. */
export interface GenerateImage {
  /** float32 pixels, row-major in `shape`. */
  pixels: Float32Array
  /** `[3, H, W]` (CLIP) or `[patches, C·T·P·P]` (Qwen2-VL). */
  shape: readonly number[]
  /** Qwen2-VL's (t, h, w) patch grid. */
  gridThw?: readonly [number, number, number]
}

/**
 * A {@link GenerateRequest} with every optional setting filled the same way for each backend
 * (greedy, 256 new tokens, seed 0), so that neither backend (nor the torch worker) keeps defaults
 * of its own; `topK` / `topP` stay absent when not asked for.
 */
export function completeGenerateRequest(r: GenerateRequest): GenerateRequest & { maxNewTokens: number; temperature: number; seed: number } {
  return { ...r, maxNewTokens: r.maxNewTokens ?? 256, temperature: r.temperature ?? 0, seed: r.seed ?? 0 }
}

/** Rewards request: the scalar reward a reward model (the rm stage's artifact) gives each token sequence. */
export interface RewardsRequest {
  /** Folder of a merged reward model (`*ForSequenceClassification`), or of the base model when `adapter` is given. */
  model: string
  /** The rm stage's train artifact (its tokenizer/ sizes the vocabulary). */
  adapter?: string
  /** Token ids of each whole sequence (prompt ++ answer), as the rm stage trains on them. */
  sequences: readonly (readonly number[])[]
  /** The reward is read at each sequence's last token that is not this id (transformers' rule). */
  padId: number
}

/** A compute backend: runs the train, merge, generate and eval nodes. */
export interface Backend {
  name: 'tfjs' | 'torch'
  capabilities: () => Promise<BackendCapabilities>
  /** Executors by node kind (any kind of the node registry; a backend brings those that run on it). */
  executors: Partial<Record<NodeKind, NodeExecutor>>
  /** Generates a completion of already-rendered prompt text (the chat template is the caller's). */
  generate: (request: GenerateRequest, onToken?: (text: string) => void) => Promise<string>
  /** The reward of each sequence under a reward model (the rm stage's artifact or its merged folder). */
  rewards?: (request: RewardsRequest) => Promise<number[]>
  /** Releases memory, worker processes and the like. */
  dispose?: () => Promise<void>
}
