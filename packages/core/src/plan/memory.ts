import type { FamilyInfo, ModelConfig } from '../families/types.ts'
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
  lora: { rank: number; dropout: number; targetModules: readonly string[] }
  optimizer: string
  /** Rows per micro-batch. */
  batchSize: number
  /** Padded length of a micro-batch (maxLength is the worst case). */
  seqLen: number
  target: MemoryTarget
}

export interface ActivationEstimate {
  /** `flash`: fused attention keeps no score matrix (torch SDPA on CUDA); `eager`: keeps `[b, heads, s, s]`. */
  attention: 'flash' | 'eager'
  /** Bytes kept by one decoder layer for the backward pass, LoRA inputs included. */
  perLayer: number
  /** Logits and log-probabilities of the loss: `[b, s, vocab]`. */
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

const OPTIMIZER_BYTES: Record<string, number> = {
  adamw_torch: 8, adamw: 8, paged_adamw_32bit: 8, // two fp32 moments per parameter
  paged_adamw_8bit: 2, adamw_8bit: 2, // two 8-bit moments (block scales are ≈ 0.1%)
  sgd: 0, // no momentum in tunekit's SGD
}

export function estimateActivations(input: MemoryInput, dtype: Dtype): ActivationEstimate {
  const { config: c, family, batchSize: b, seqLen: s, lora, target } = input
  const p = dtypeBytes(dtype)
  const h = c.hiddenSize
  const q = c.numAttentionHeads * c.headDim
  const kv = c.numKeyValueHeads * c.headDim
  const I = c.intermediateSize
  const attention = target.backend === 'torch' && target.device === 'cuda' ? 'flash' : 'eager'
  // Per token: norm inputs and outputs (4h), q (q), o_proj input (q), SwiGLU gate/up/silu/product (4I),
  // plus keys and values: grouped (2kv) for fused attention, repeated to every head (2q) for eager.
  const perToken = p * (4 * h + 2 * q + 4 * I + (attention === 'flash' ? 2 * kv : 2 * q))
  // Eager attention keeps the softmax output in fp32 and its cast to the compute dtype: [b, heads, s, s].
  const scores = attention === 'eager' ? b * c.numAttentionHeads * s * s * (4 + p) : b * c.numAttentionHeads * s * 4 // logsumexp
  // LoRA: A's input is a float32 copy of x when x is not float32 or dropout is on (PEFT casts x to the
  // adapter's dtype, dropout makes a new tensor plus a 1-byte mask); B's input is A's output [b, s, r] in fp32.
  const loraPerToken = lora.targetModules.reduce((sum, m) => {
    const [inF] = family.linearShape(c, m)
    const copy = p !== 4 || lora.dropout > 0 ? inF * 4 : 0
    const mask = lora.dropout > 0 ? inF : 0
    return sum + copy + mask + lora.rank * 4
  }, 0)
  const perLayer = b * s * (perToken + loraPerToken) + scores
  const vocab = c.vocabSize + input.params.addedTokens
  // lm_head output in the compute dtype, its float32 upcast and the saved log-softmax: [b, s, vocab].
  const logits = b * s * vocab * (p + 8)
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
    const rowScales = q.bits === 8 ? c.numHiddenLayers * family.linearModules.reduce((sum, m) => sum + family.linearShape(c, m)[1] * 4, 0) : 0
    quantizedBytes = (quantizedParams * bits) / 8 + rowScales
    if (target.backend === 'torch' && target.device !== 'cuda') notes.push('4-/8-bit bitsandbytes weights need CUDA on the torch backend')
  }
  const unquantizedBytes = (params.base - quantizedParams) * dtypeBytes(dtype)
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
