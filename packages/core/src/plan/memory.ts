import type { FamilyInfo, ModelConfig } from '../families/types.ts'
import { methodActivationBytes, type MethodOptions } from '../methods/index.ts'
import type { ModelParams, ParamCounts } from './model-size.ts'

// Memory of one training step on one device, in bytes, split into the parts that dominate GPU
// memory. Formulas and sources: docs/memory-planning.md.

export type Dtype = 'float32' | 'float16' | 'bfloat16'
export const dtypeBytes = (d: Dtype): number => (d === 'float32' ? 4 : 2)

/** Where and how the step runs. */
export interface MemoryTarget {
  backend: 'tfjs' | 'torch'
  device: string
  /** Dtypes the device computes in (from the backend's capabilities). */
  dtypes: readonly Dtype[]
  /** Bytes the device holds, when known. */
  memoryBytes?: number | undefined
}

export interface MemoryInput {
  family: FamilyInfo
  config: ModelConfig
  params: ParamCounts
  model: ModelParams
  /** The training method; its file in `methods/` gives the activations its trained tensors keep. */
  method: MethodOptions
  optimizer: string
  /** Rows per micro-batch. */
  batchSize: number
  /** Padded length of a micro-batch (maxLength is the worst case). */
  seqLen: number
  target: MemoryTarget
  /** Attention kernel; default sdpa on torch, eager on tfjs. */
  attention?: 'sdpa' | 'eager'
  /**
   * Share of the tokens that are labelled (the batch plan's trained / padded tokens); tfjs runs
   * the vocabulary head on those rows only. Default 1 (every token: the bound before collate ran).
   */
  labelledShare?: number
  /**
   * torch's chunked cross-entropy (`args.chunkedLoss`, on by default on the CPU for a text model):
   * the head runs on the labelled tokens only, {@link CHUNK_TOKENS} at a time, and keeps no logits
   * for the backward pass (tunekit_torch/chunked_loss.py). Default false.
   */
  chunkedLoss?: boolean
}

/** Tokens per chunk of torch's chunked cross-entropy (tunekit_torch/chunked_loss.py's CHUNK_TOKENS). */
export const CHUNK_TOKENS = 1024

export interface ActivationEstimate {
  /** `sdpa`: fused attention keeps no score matrix (torch); `eager`: keeps `[b, heads, s, s]` (tfjs). */
  attention: 'sdpa' | 'eager'
  /** Bytes kept by one decoder layer for the backward pass, LoRA inputs included. */
  perLayer: number
  /** What the loss keeps over the vocabulary: torch `[b, s, vocab]` logits and log-probabilities (its chunked loss: one chunk of labelled tokens' logits); tfjs one float32 exp per entry of the labelled rows. */
  logits: number
  withoutCheckpointing: number
  /** Layer inputs of every layer + one layer recomputed at a time + logits. */
  withCheckpointing: number
  used: 'with' | 'without'
}

export interface MemoryEstimate {
  /** Frozen base weights: packed (NF4/FP4/int8 with their scales) plus the unquantised rest. */
  weights: number
  weightsDetail: { dtype: Dtype; quantized: string | null; quantizedParams: number; quantizedBytes: number; unquantizedBytes: number; bitsPerQuantizedParam: number }
  /** Trainable tensors (LoRA A/B, saved modules, token rows) in float32. */
  adapters: number
  gradients: number
  optimizer: number
  optimizerDetail: { bytesPerParam: number; paged: boolean }
  activations: number
  activationsDetail: ActivationEstimate
  total: number
  /** `total <= target.memoryBytes`, when that is known. */
  fits: boolean | null
  /** The process's peak RSS the benches' calibration predicts from `total` (runtime, allocator slack, copies), when there is one (plan.ts). */
  process?: { bytes: number; how: string }
  notes: string[]
}

/** Weight dtype: tfjs computes in float32 only; torch's `'auto'` is bf16 where the device has it. */
export function resolveWeightDtype(model: ModelParams, target: MemoryTarget): Dtype {
  if (target.backend === 'tfjs') return 'float32'
  if (model.dtype !== 'auto') return model.dtype
  return target.device === 'cuda' && target.dtypes.includes('bfloat16') ? 'bfloat16' : 'float32'
}

/**
 * Bits per quantised weight, scales included (QLoRA §3): NF4/FP4 store 4 bits plus one fp32
 * absmax per block (32 / blockSize bits); double quantisation stores that absmax in 8 bits plus
 * one fp32 per 256 blocks (8 / blockSize + 32 / (256 · blockSize) bits).
 */
export function bitsPerQuantizedParam(q: NonNullable<ModelParams['quantize']>): number {
  if (q.bits === 8) return 8 // plus one fp32 scale per output row, added separately
  const scales = q.doubleQuant ? 8 / q.blockSize + 32 / (256 * q.blockSize) : 32 / q.blockSize
  return 4 + scales
}

export const OPTIMIZER_BYTES: Record<string, number> = {
  adamw_torch: 8, adamw: 8, paged_adamw_32bit: 8, // two fp32 moments per parameter
  paged_adamw_8bit: 2, adamw_8bit: 2, // two 8-bit moments (block scales are ≈ 0.1%)
  sgd: 0, // no momentum in tunekit's SGD
}

export function estimateActivations(input: MemoryInput, dtype: Dtype): ActivationEstimate {
  const { config: c, family, batchSize: b, seqLen: s, target } = input
  const p = dtypeBytes(dtype)
  const h = c.hiddenSize
  const q = c.numAttentionHeads * c.headDim
  const kv = c.numKeyValueHeads * c.headDim
  const a = c.numAttentionHeads
  const I = c.intermediateSize
  // torch uses fused scaled-dot-product attention (transformers' default); tfjs keeps the score matrix.
  const attention = input.attention ?? (target.backend === 'torch' ? 'sdpa' : 'eager')
  // Bytes autograd keeps per token of one decoder layer with frozen base weights (docs/memory-planning.md):
  // each RMSNorm keeps its input upcast to fp32 and 1/rms; frozen projections keep nothing.
  const norms = 2 * (4 * h + 4)
  const attn = attention === 'sdpa'
    ? p * (2 * q + 2 * kv) + 4 * a // rotated q, k, v, the output, logsumexp per head
    : p * 3 * q + 4 * a * s + (p === 4 ? 0 : p * a * s) // q, k and v repeated to every head, softmax [heads, s] in fp32 (+ its cast)
  const mlp = 3 * I * p // gate, up and silu(gate)
  // The method's trained tensors keep their inputs (methods/<kind>.ts), spread over the layers here.
  const maskBytes = target.device === 'cuda' ? 1 : 4
  const trainedPerToken = methodActivationBytes(input.method, { family, config: c, addedTokens: input.params.addedTokens, computeBytes: p, attention, maskBytes }) / c.numHiddenLayers
  const perLayer = b * s * (norms + attn + mlp + trainedPerToken)
  const vocab = c.vocabSize + input.params.addedTokens
  // torch: lm_head output in the compute dtype, its float32 upcast and the saved log-softmax, [b, s, vocab];
  // under its chunked loss one chunk of the labelled tokens' logits at a time, in the compute dtype
  // and (below float32) its float32 copy, the softmax written over it.
  // tfjs: the loss gathers the labelled rows before the head, and its fused head loss keeps one
  // float32 exp per vocabulary entry of them for the backward (packages/tfjs/src/model/head-loss.ts).
  const labelled = Math.ceil(b * s * Math.min(1, input.labelledShare ?? 1))
  const logits = target.backend === 'tfjs' ? labelled * vocab * 4
    : input.chunkedLoss ? Math.min(labelled, CHUNK_TOKENS) * vocab * (p === 4 ? 4 : p + 4)
      : b * s * vocab * (p + 8)
  const layerInputs = c.numHiddenLayers * b * s * h * p // what a checkpointed layer keeps: its input
  const tail = 2 * b * s * h * p // final norm and lm_head inputs
  const withoutCheckpointing = c.numHiddenLayers * perLayer + logits + tail
  const withCheckpointing = layerInputs + perLayer + logits + tail
  return { attention, perLayer, logits, withoutCheckpointing, withCheckpointing, used: input.model.gradientCheckpointing ? 'with' : 'without' }
}

/** The memory estimate of one training step; see docs/memory-planning.md for each formula. */
export function estimateMemory(input: MemoryInput): MemoryEstimate {
  const { config: c, family, params, model, target } = input
  const notes: string[] = []
  const dtype = resolveWeightDtype(model, target)
  const q = model.quantize
  let quantizedParams = 0
  let quantizedBytes = 0
  let bits = 0
  if (q) {
    // bitsandbytes quantises the decoder's nn.Linear layers; embeddings, lm_head and norms stay in `dtype`.
    quantizedParams = params.linear
    bits = bitsPerQuantizedParam(q)
    const rowScales = q.bits === 8 ? c.numHiddenLayers * family.linearModules.reduce((sum, m) => sum + family.linearShapes(c, m).reduce((n, [, outF]) => n + outF * 4, 0), 0) : 0
    quantizedBytes = (quantizedParams * bits) / 8 + rowScales
    if (target.backend === 'torch' && target.device !== 'cuda') notes.push('4-/8-bit bitsandbytes weights need CUDA on the torch backend')
  }
  // Full / freeze train the base's own tensors: torch holds those once, in float32 (counted under
  // adapters); tfjs keeps its frozen float32 copy of every weight beside the trained ones.
  const trainedCopies = params.trainedInBase && target.backend === 'torch' ? params.trainable : 0
  const unquantizedBytes = (params.base - quantizedParams - trainedCopies) * dtypeBytes(dtype)
  const weights = quantizedBytes + unquantizedBytes
  const adapters = params.trainable * 4
  const gradients = params.trainable * 4
  const bytesPerParam = OPTIMIZER_BYTES[input.optimizer] ?? 8
  const paged = input.optimizer.startsWith('paged_')
  if (paged) notes.push('paged optimizer: bitsandbytes moves its states to CPU memory under pressure; counted in full here')
  const optimizer = params.trainable * bytesPerParam
  const activationsDetail = estimateActivations(input, target.backend === 'tfjs' ? 'float32' : dtype)
  const activations = activationsDetail.used === 'with' ? activationsDetail.withCheckpointing : activationsDetail.withoutCheckpointing
  if (activationsDetail.used === 'without' && activationsDetail.withoutCheckpointing > 2 * activationsDetail.withCheckpointing) {
    notes.push(`model.gradientCheckpointing: true would cut activations from ${gb(activationsDetail.withoutCheckpointing)} to ${gb(activationsDetail.withCheckpointing)}`)
  }
  const total = weights + adapters + gradients + optimizer + activations
  return {
    weights,
    weightsDetail: { dtype, quantized: q ? q.type : null, quantizedParams, quantizedBytes, unquantizedBytes, bitsPerQuantizedParam: bits },
    adapters,
    gradients,
    optimizer,
    optimizerDetail: { bytesPerParam, paged },
    activations,
    activationsDetail,
    total,
    fits: target.memoryBytes === undefined ? null : total <= target.memoryBytes,
    notes,
  }
}

/** Bytes as decimal gigabytes, e.g. `4.12 GB`. */
export const gb = (bytes: number): string => (bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(1)} KB`)
