// LoftQ's train artifact (Li et al., 2023; PEFT's init_lora_weights='loftq'): a plain LoRA adapter
// trained against a replaced base, each adapted weight W [out, in] replaced by the dequantised
// quantisation of its residual Q(W − B0·A0). That base is not the original one, so the artifact keeps
// it: `loftq_base.safetensors` beside the adapter, the replaced weights under their transformers names
// (`model.layers.0.self_attn.q_proj.weight`, float32). adapter_config.json says
// `init_lora_weights: true`, as PEFT's own LoftQ example saves it ("Don't apply LoftQ when loading
// again"): PEFT loads the adapter as-is onto the base with those weights put in
// (`model.load_state_dict(load_file('loftq_base.safetensors'), strict=False)`), and tunekit reads the
// file back as the LoftQ spec.
import type { FloatTensor } from '../safetensors.ts'
import type { LoraSpec } from './lora-keys.ts'

/** The replaced base weights of a LoftQ adapter, beside adapter_model.safetensors. */
export const LOFTQ_BASE = 'loftq_base.safetensors'

/** Whether the spec starts from LoftQ (its artifact holds the replaced base too). */
export const isLoftq = (spec: Pick<LoraSpec, 'initLoraWeights'>): boolean => spec.initLoraWeights === 'loftq'

/** A LoftQ artifact's tensors split into the adapter's (PEFT keys, `base_model.model.…`) and the replaced base weights (transformers names). */
export function splitLoftqTensors(tensors: ReadonlyMap<string, FloatTensor>): { adapter: Map<string, FloatTensor>; base: Map<string, FloatTensor> } {
  const adapter = new Map<string, FloatTensor>()
  const base = new Map<string, FloatTensor>()
  for (const [key, t] of tensors) (key.startsWith('base_model.') ? adapter : base).set(key, t)
  return { adapter, base }
}
