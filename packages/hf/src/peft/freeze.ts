// Freeze tuning's train artifact holds only the trained tensors, under their transformers names:
//   trained_tensors.safetensors   e.g. model.layers.1.mlp.up_proj.weight [out, in], float32
//   tunekit_method.json           { "kind": "freeze", trainableLayers, trainableModules, extraModules,
//                                   "tensors": [names], "config": config.json of the trained shape }
// Merging writes the base model with those tensors replaced; every other tensor stays bit-identical.
import { join } from 'node:path'
import { configFromJson } from '../hf-folder.ts'
import { familyOf } from '../family-of.ts'
import { writeSafetensors } from '../safetensors.ts'
import { readFloats } from './full.ts'
import { readMethodFile, writeMethodFile } from './method-file.ts'
import type { MethodLayout, ReadArtifact } from './types.ts'

export const FREEZE_WEIGHTS = 'trained_tensors.safetensors'

export const freeze = {
  files: [FREEZE_WEIGHTS],
  write: async (dir, a) => {
    const names = [...a.tensors.keys()].sort()
    await writeSafetensors(join(dir, FREEZE_WEIGHTS), names.map((n) => [n, a.tensors.get(n)!] as const), { metadata: { format: 'pt' } })
    const { trainableLayers, trainableModules, extraModules } = a.method.options
    await writeMethodFile(dir, {
      kind: 'freeze', trainableLayers, trainableModules, extraModules, tensors: names,
      config: familyOf(a.family).writeConfig(a.method.config), base_model_name_or_path: a.baseModel,
    })
  },
  read: async (dir): Promise<ReadArtifact | undefined> => {
    const m = await readMethodFile(dir)
    if (m?.kind !== 'freeze') return undefined
    const json = m.config as Record<string, unknown>
    const options = { trainableLayers: Number(m.trainableLayers), trainableModules: m.trainableModules as 'all' | string[], extraModules: (m.extraModules as string[]) ?? [] }
    return { method: { kind: 'freeze', options, config: configFromJson(json, String(json.model_type), join(dir, 'tunekit_method.json')) }, tensors: await readFloats(join(dir, FREEZE_WEIGHTS)) }
  },
} satisfies MethodLayout<'freeze'>
