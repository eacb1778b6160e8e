// Full fine-tuning's train artifact is the trained model itself, a Hugging Face folder:
//   config.json            the base's, with the vocabulary grown by added tokens
//   model.safetensors      every weight under its transformers name, float32
//   tunekit_method.json    { "kind": "full" }
// so `AutoModelForCausalLM.from_pretrained(<train artifact>)` loads it; merging copies the weights.
import { join } from 'node:path'
import { readFile } from 'node:fs/promises'
import { configFromJson } from '../hf-folder.ts'
import { writeModelConfigJson } from '../metadata/model-config-json.ts'
import { readSafetensors, writeSafetensors, type FloatTensor } from '../safetensors.ts'
import { openModelWeights } from '../sharded.ts'
import { readMethodFile, writeMethodFile } from './method-file.ts'
import type { MethodLayout, ReadArtifact } from './types.ts'

export const FULL_WEIGHTS = 'model.safetensors'

/** Float tensors of a safetensors file, by name. */
export async function readFloats(file: string): Promise<Map<string, FloatTensor>> {
  const out = new Map<string, FloatTensor>()
  for (const [name, t] of (await readSafetensors(file)).tensors) if (t.data instanceof Float32Array) out.set(name, t as FloatTensor)
  return out
}

const sorted = (tensors: ReadonlyMap<string, FloatTensor>): Array<[string, FloatTensor]> => [...tensors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

export const full = {
  files: ['config.json', FULL_WEIGHTS],
  write: async (dir, a) => {
    await writeSafetensors(join(dir, FULL_WEIGHTS), sorted(a.tensors), { metadata: { format: 'pt' } })
    await writeModelConfigJson(join(dir, 'config.json'), a.family, a.method.config, { dtype: 'F32' }) // the widest form, as a merge writes it
    await writeMethodFile(dir, { kind: 'full', base_model_name_or_path: a.baseModel })
  },
  read: async (dir): Promise<ReadArtifact | undefined> => {
    const marker = await readMethodFile(dir)
    if (marker?.kind !== 'full') return undefined
    const json = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>
    const family = String(json.model_type)
    // save_pretrained shards a large model (model-0000x-of-0000n + index): read whatever it wrote.
    const weights = await openModelWeights(dir)
    const tensors = new Map<string, FloatTensor>()
    try {
      for (const name of weights.names) tensors.set(name, await weights.readFloat(name))
    } finally {
      await weights.close()
    }
    return { method: { kind: 'full', config: configFromJson(json, family, join(dir, 'config.json')) }, tensors }
  },
} satisfies MethodLayout<'full'>
