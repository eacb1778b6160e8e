import { decoderModuleGroup } from '../families/decoder.ts'
import type { FamilyInfo, ModelConfig } from '../families/types.ts'

/** One parameter of a decoder in transformers naming, with its shape. */
export interface DecoderParameter {
  name: string
  /** `[out, in]` for linear weights, `[n]` for norms and biases, `[vocab, hidden]` for embeddings. */
  shape: readonly number[]
}

/**
 * The parameters of a llama-style decoder as `model.named_parameters()` lists them: tied
 * embeddings appear once (as `model.embed_tokens.weight`), so counting these counts what torch trains.
 */
export function decoderParameters(family: FamilyInfo, c: ModelConfig): DecoderParameter[] {
  const out: DecoderParameter[] = [{ name: 'model.embed_tokens.weight', shape: [c.vocabSize, c.hiddenSize] }]
  // a vision-language model's projector (one of each module, with biases) trains with its language model; its vision tower stays frozen
  const projector: readonly string[] = family.vision?.projectorModules ?? []
  for (let i = 0; i < c.numHiddenLayers; i++) {
    const p = `model.layers.${i}`
    for (const m of family.linearModules.filter((n) => !projector.includes(n))) {
      const [inF, outF] = family.linearShape(c, m)
      const group = decoderModuleGroup(m)
      out.push({ name: `${p}.${group}.${m}.weight`, shape: [outF, inF] })
      if (c.attentionBias && (m === 'q_proj' || m === 'k_proj' || m === 'v_proj')) out.push({ name: `${p}.${group}.${m}.bias`, shape: [outF] })
      // qwen3 registers its q/k norms after o_proj
      if (c.qkNorm && m === 'o_proj') out.push({ name: `${p}.self_attn.q_norm.weight`, shape: [c.headDim] }, { name: `${p}.self_attn.k_norm.weight`, shape: [c.headDim] })
    }
    out.push({ name: `${p}.input_layernorm.weight`, shape: [c.hiddenSize] }, { name: `${p}.post_attention_layernorm.weight`, shape: [c.hiddenSize] })
    if (c.gemma2) out.push({ name: `${p}.pre_feedforward_layernorm.weight`, shape: [c.hiddenSize] }, { name: `${p}.post_feedforward_layernorm.weight`, shape: [c.hiddenSize] })
  }
  out.push({ name: 'model.norm.weight', shape: [c.hiddenSize] })
  if (!c.tieWordEmbeddings) out.push({ name: 'lm_head.weight', shape: [c.vocabSize, c.hiddenSize] })
  for (const m of projector) {
    const [inF, outF] = family.linearShape(c, m)
    out.push({ name: `${family.vision!.projector}.${m}.weight`, shape: [outF, inF] }, { name: `${family.vision!.projector}.${m}.bias`, shape: [outF] })
  }
  return out
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((n, d) => n * d, 1)
