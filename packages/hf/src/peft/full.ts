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
import type { ModelConfig } from '@tunekit/core'
import type { MethodLayout, ReadArtifact } from './types.ts'

export const FULL_WEIGHTS = 'model.safetensors'

/** Float tensors of a safetensors file, by name. */
export async function readFloats(file: string): Promise<Map<string, FloatTensor>> {
  const out = new Map<string, FloatTensor>()
  for (const [name, t] of (await readSafetensors(file)).tensors) if (t.data instanceof Float32Array) out.set(name, t as FloatTensor)
  return out
}

const sorted = (tensors: ReadonlyMap<string, FloatTensor>): Array<[string, FloatTensor]> => [...tensors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

/**
 * A trained model as a Hugging Face folder (full, LLaMA Pro): the tensors, config.json of the trained
 * shape and the method file `marker` says. `read` gives the folder's every tensor and config.
 */
export async function writeModelFolder(dir: string, tensors: ReadonlyMap<string, FloatTensor>, family: string, config: ModelConfig, marker: { kind: string } & Record<string, unknown>): Promise<void> {
  await writeSafetensors(join(dir, FULL_WEIGHTS), sorted(tensors), { metadata: { format: 'pt' } })
  await writeModelConfigJson(join(dir, 'config.json'), family, config, { dtype: 'F32' }) // the widest form, as a merge writes it
  await writeMethodFile(dir, marker)
}

/** A model folder written by `writeModelFolder` (or save_pretrained) for method `kind`, or undefined for another method's folder. */
export async function readModelFolder(dir: string, kind: string): Promise<{ marker: Record<string, unknown>; config: ModelConfig; tensors: Map<string, FloatTensor> } | undefined> {
  const marker = await readMethodFile(dir)
  if (marker?.kind !== kind) return undefined
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
  return { marker, config: configFromJson(json, family, join(dir, 'config.json')), tensors }
}

export const full = {
  files: ['config.json', FULL_WEIGHTS],
  write: (dir, a) => writeModelFolder(dir, a.tensors, a.family, a.method.config, { kind: 'full', base_model_name_or_path: a.baseModel }),
  read: async (dir): Promise<ReadArtifact | undefined> => {
    const found = await readModelFolder(dir, 'full')
    return found && { method: { kind: 'full', config: found.config }, tensors: found.tensors }
  },
} satisfies MethodLayout<'full'>
