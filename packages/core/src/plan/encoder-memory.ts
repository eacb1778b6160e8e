import type { FamilyInfo } from '../families/types.ts'
import type { MethodOptions } from '../methods/index.ts'
import { targetsOf } from '../methods/lora.ts'
import { OPTIMIZER_BYTES, type MemoryEstimate, type MemoryInput } from './memory.ts'

// Memory of one qa training step of a BERT-style encoder, in bytes. The qa stage computes in
// float32 on both backends, with eager attention (the softmax's [heads, s, s] is kept) and no
// dropout; the formula is checked against the bytes PyTorch's autograd keeps (test/graph/
// activations.test.ts, measure_encoder_activations.py; docs/memory-planning.md).

/** What one encoder layer keeps per token whatever trains, in float32 elements. */
function keptPerToken(h: number, intermediate: number, heads: number, s: number): number {
  // q, k, v and the softmax output [heads · s] for the attention's backward; both LayerNorms'
  // inputs and their mean / rstd; GELU's input.
  return 3 * h + heads * s + 2 * h + 4 + intermediate
}

/**
 * The linear inputs the trained weights keep, per token and layer, in float32 elements: full
 * fine-tuning keeps all four (the layer's input for query/key/value, the attention context for its
 * output dense, the first LayerNorm's output for intermediate.dense, GELU's output for
 * output.dense); LoRA those of its targets (one per matched module path) plus each module's
 * `x Aᵀ` [rank].
 */
function trainedInputsPerToken(method: MethodOptions, family: FamilyInfo, h: number, intermediate: number): number {
  if (method.kind !== 'lora') return 3 * h + intermediate
  const t = new Set(targetsOf(method, family.linearModules, family.defaultTargetModules))
  const qkv = ['query', 'key', 'value'].filter((m) => t.has(m)).length
  const dense = t.has('dense')
  const inputs = (qkv > 0 ? h : 0) + (dense ? 2 * h + intermediate : 0)
  return inputs + method.rank * (qkv + (dense ? 3 : 0))
}

/** The memory estimate of one qa training step (float32 weights, adapters, AdamW, activations). */
export function estimateEncoderMemory(input: MemoryInput): MemoryEstimate {
  const { config: c, params, target, batchSize: b, seqLen: s } = input
  const h = c.hiddenSize
  const I = c.intermediateSize
  const perLayer = 4 * b * s * (keptPerToken(h, I, c.numAttentionHeads, s) + trainedInputsPerToken(input.method, input.family, h, I))
  // Outside the layers: the head's input [h] and the two log-softmaxes of the loss; full
  // fine-tuning also keeps the embedding LayerNorm's input, its statistics and the id tensors.
  const loss = 4 * b * s * (h + 2)
  const embeddings = input.method.kind === 'lora' ? 0 : b * s * (4 * (h + 2) + 8 * 2)
  const activations = c.numHiddenLayers * perLayer + loss + embeddings
  // torch trains full fine-tuning's weights in place; tfjs keeps its frozen copy beside them.
  const trainedCopies = params.trainedInBase && target.backend === 'torch' ? params.trainable : 0
  const weights = (params.base - trainedCopies) * 4
  const bytesPerParam = OPTIMIZER_BYTES[input.optimizer] ?? 8
  const adapters = params.trainable * 4
  const gradients = params.trainable * 4
  const optimizer = params.trainable * bytesPerParam
  const total = weights + adapters + gradients + optimizer + activations
  return {
    weights,
    weightsDetail: { dtype: 'float32', quantized: null, quantizedParams: 0, quantizedBytes: 0, unquantizedBytes: weights, bitsPerQuantizedParam: 0 },
    adapters,
    gradients,
    optimizer,
    optimizerDetail: { bytesPerParam, paged: input.optimizer.startsWith('paged_') },
    activations,
    activationsDetail: { attention: 'eager', perLayer, logits: loss, withoutCheckpointing: activations, withCheckpointing: activations, used: 'without' },
    total,
    fits: target.memoryBytes === undefined ? null : total <= target.memoryBytes,
    notes: ['the qa stage trains in float32 with eager attention on both backends (no gradient checkpointing)'],
  }
}
