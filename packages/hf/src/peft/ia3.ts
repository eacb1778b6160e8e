// IA³'s train artifact, PEFT's layout (IA3Config, PEFT ≥ 0.6):
//   adapter_config.json        peft_type "IA3", target_modules, feedforward_modules, task_type "CAUSAL_LM", …
//   adapter_model.safetensors  base_model.model.model.layers.{i}.self_attn.k_proj.ia3_l [out, 1]
//                              (a feed-forward module's: …mlp.down_proj.ia3_l [1, in])
import { loraExcludeModules } from '@tunekit/core'
import { familyOf } from '../family-of.ts'
import { readPeftAdapter, writePeftAdapter } from './peft-adapter.ts'
export { ia3Key } from './peft-keys.ts'
import type { MethodLayout, ReadArtifact } from './types.ts'

/** adapter_config.json as PEFT's IA3Config writes it, with only the keys PEFT ≥ 0.6 knows (lists sorted: PEFT holds them as sets). */
export function ia3ConfigJson(m: { targetModules: readonly string[]; feedforwardModules: readonly string[] }, family: string, baseModel: string | null, revision: string | null = null): Record<string, unknown> {
  if (familyOf(family).kind !== 'decoder') throw new Error(`IA³ adapters are written for decoders, not ${family}`)
  // a vision-language model's frozen tower (LLaVA's CLIP k/v_proj share the decoder's names): PEFT's regex
  const exclude = loraExcludeModules(familyOf(family), false)
  return {
    base_model_name_or_path: baseModel,
    ...(exclude !== undefined ? { exclude_modules: exclude } : {}),
    fan_in_fan_out: false,
    feedforward_modules: [...m.feedforwardModules].sort(),
    inference_mode: true,
    init_ia3_weights: true,
    modules_to_save: null,
    peft_type: 'IA3',
    ...(revision !== null ? { revision } : {}),
    target_modules: [...m.targetModules].sort(),
    task_type: 'CAUSAL_LM',
  }
}

const names = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : [])

export const ia3 = {
  files: ['adapter_config.json', 'adapter_model.safetensors'],
  write: (dir, a) => writePeftAdapter(dir, ia3ConfigJson(a.method, a.family, a.baseModel, a.revision ?? null), a.tensors),
  read: async (dir, base): Promise<ReadArtifact | undefined> => {
    const found = await readPeftAdapter(dir, 'IA3', base)
    if (!found) return undefined
    return { method: { kind: 'ia3', targetModules: names(found.json.target_modules), feedforwardModules: names(found.json.feedforward_modules) }, tensors: found.tensors }
  },
} satisfies MethodLayout<'ia3'>
