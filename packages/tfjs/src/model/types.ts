import type { ModelConfig } from '@tunekit/core'
import type { tf } from '../engine.ts'
import type { QuantizedWeight } from '../quant/types.ts'
import type { FrozenHead } from './head.ts'

/**
 * A frozen weight: float32 on the engine, held transposed (`weightT` [in, out], so products need no
 * transpose flag, see matmul.ts), or packed and quantised in Hugging Face layout [out, in].
 */
export type FrozenWeight = { kind: 'dense'; weightT: tf.Tensor2D } | { kind: 'quantized'; weight: QuantizedWeight }

/** One linear module `y = x Wᵀ + b`. */
export interface Linear {
  /** Module path in transformers naming, e.g. `model.layers.0.self_attn.q_proj`. */
  path: string
  weight: FrozenWeight
  /** [out], only for qwen2's q/k/v. */
  bias?: tf.Tensor1D
}

export interface DecoderLayer {
  /** Module path in transformers naming, e.g. `model.layers.0`. */
  path: string
  inputNorm: tf.Tensor1D // [hidden]
  postNorm: tf.Tensor1D // [hidden]
  /** qwen3's per-head q / k RMSNorm weights [headDim] (`self_attn.q_norm` / `k_norm`), when `qkNorm`. */
  qNorm?: tf.Tensor1D
  kNorm?: tf.Tensor1D
  /** Gemma 2's norms around the MLP [hidden]; its post_attention_layernorm then norms the attention output. */
  preFfNorm?: tf.Tensor1D
  postFfNorm?: tf.Tensor1D
  /** Gemma 2's sliding-window layers (`layer_types` "sliding_attention"): they use the context's `slidingMask`. */
  sliding?: true
  /** The q, k and v projections, or phi-3's one `qkv_proj` whose output is [q | k | v]. */
  qkv: readonly Linear[]
  o: Linear
  /** The gated MLP, or Mixtral's mixture of experts. */
  mlp: DenseMlp | MoeMlp
}

/** A gated MLP `down(act(gate(x)) · up(x))`. */
export interface DenseMlp {
  /** The gate and up projections (Mixtral's w1 and w3), or phi-3's one `gate_up_proj` whose output is [gate | up]. */
  gateUp: readonly Linear[]
  /** The down projection (Mixtral's w2). */
  down: Linear
}

/** Mixtral's sparse MoE block: the router `gate` [experts, hidden] and one SwiGLU MLP per expert. */
export interface MoeMlp {
  router: Linear
  experts: readonly DenseMlp[]
}

export const isMoe = (mlp: DenseMlp | MoeMlp): mlp is MoeMlp => 'router' in mlp

const mlpLinears = (mlp: DenseMlp | MoeMlp): Linear[] => (isMoe(mlp) ? [mlp.router, ...mlp.experts.flatMap(mlpLinears)] : [...mlp.gateUp, mlp.down])

/** Every linear module of a layer in transformers' order (q, k, v, o, gate, up, down; phi-3: qkv, o, gate_up, down; Mixtral: q, k, v, o, router, experts). */
export const layerLinears = (l: DecoderLayer): Linear[] => [...l.qkv, l.o, ...mlpLinears(l.mlp)]

/** A llama-style decoder (llama, mistral, qwen2/3, gemma/2, phi-3, mixtral) held on the engine. Frozen: nothing here is trained. */
export interface DecoderModel {
  family: string
  config: ModelConfig
  embed: tf.Tensor2D // [vocab, hidden]
  layers: DecoderLayer[]
  norm: tf.Tensor1D // [hidden]
  /** lm_head (the embedding when `tieWordEmbeddings`), cut into vocabulary blocks in both layouts. */
  head: FrozenHead
  /** A merged reward model's head `score.weight` [1, hidden] (`*ForSequenceClassification`), when the folder has one. */
  score?: tf.Tensor2D
}

/** A batch of rows as the model reads them; every array is `[batch * seq]`, row-major. */
export interface TokenBatch {
  batch: number
  seq: number
  ids: Int32Array
  /** Position ids; restart at 0 in each packed segment. */
  positions: Int32Array
  /** Segment of each token: attention never crosses segments. Padding gets a segment of its own. */
  segments: Int32Array
}
