// Transformers' tensor names → llama.cpp's, per architecture, and the q/k row permutation that
// llama.cpp's converter (convert_hf_to_gguf.py, LlamaModel.modify_tensors) applies to llama-style
// models. HF stores q/k rows so that rotary embeddings rotate the two halves of each head
// (rotate_half); llama.cpp's LLAMA rope rotates adjacent pairs. qwen2 uses llama.cpp's NEOX rope,
// which rotates halves as HF does, so its rows stay as they are.

/** The GGUF `general.architecture` each family exports as (mistral runs as llama in llama.cpp). */
export const ggufArchitectures = { llama: 'llama', mistral: 'llama', qwen2: 'qwen2' } as const
export type GgufFamily = keyof typeof ggufArchitectures
export type GgufArchitecture = (typeof ggufArchitectures)[GgufFamily]

/** Whether q/k rows must be permuted from HF's half rotation to llama.cpp's pair rotation. */
export const permutesQk: Record<GgufArchitecture, boolean> = { llama: true, qwen2: false }

// model.layers.N.<module> → blk.N.<name>; the suffix (.weight / .bias) is kept.
const layerModules: Record<string, string> = {
  'self_attn.q_proj': 'attn_q',
  'self_attn.k_proj': 'attn_k',
  'self_attn.v_proj': 'attn_v',
  'self_attn.o_proj': 'attn_output',
  'mlp.gate_proj': 'ffn_gate',
  'mlp.up_proj': 'ffn_up',
  'mlp.down_proj': 'ffn_down',
  input_layernorm: 'attn_norm',
  post_attention_layernorm: 'ffn_norm',
}
const globalNames: Record<string, string> = {
  'model.embed_tokens': 'token_embd',
  'model.norm': 'output_norm',
  lm_head: 'output',
}

/**
 * llama.cpp's name of a transformers tensor (the same table serves llama, mistral and qwen2), or
 * `undefined` for a tensor llama.cpp does not load (e.g. `rotary_emb.inv_freq`, recomputed).
 */
export function ggufTensorName(hfName: string): string | undefined {
  const m = /^(.*)\.(weight|bias)$/.exec(hfName)
  if (!m) return undefined
  const [, module, suffix] = m as unknown as [string, string, string]
  if (globalNames[module] !== undefined) return `${globalNames[module]}.${suffix}`
  const layer = /^model\.layers\.(\d+)\.(.+)$/.exec(module)
  if (!layer || layerModules[layer[2]!] === undefined) return undefined
  return `blk.${layer[1]}.${layerModules[layer[2]!]}.${suffix}`
}

/**
 * Reorders the rows of a q or k projection (weight `[heads·headDim, in]` or bias `[heads·headDim]`)
 * from HF's layout to llama.cpp's: within each head, row `t·headDim/2 + j` moves to `2j + t`
 * (numpy: reshape(heads, 2, headDim/2, in).swapaxes(1, 2)). `heads` is the head count of this
 * projection (the key/value heads for k).
 */
export function permuteQk(values: Float32Array, rows: number, heads: number): Float32Array {
  const cols = values.length / rows
  const headDim = rows / heads
  if (!Number.isInteger(cols) || !Number.isInteger(headDim) || headDim % 2 !== 0) {
    throw new RangeError(`cannot permute ${rows} rows into ${heads} heads of an even width`)
  }
  const half = headDim / 2
  const out = new Float32Array(values.length)
  for (let h = 0; h < heads; h++) {
    for (let t = 0; t < 2; t++) {
      for (let j = 0; j < half; j++) {
        const from = h * headDim + t * half + j
        const to = h * headDim + 2 * j + t
        out.set(values.subarray(from * cols, (from + 1) * cols), to * cols)
      }
    }
  }
  return out
}
