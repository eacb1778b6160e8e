// LLaMA Pro's train artifact is the expanded model itself, a Hugging Face folder (as full's):
//   config.json            the base's with num_hidden_layers grown by the added blocks
//   model.safetensors      every weight of the expanded model under its transformers name, float32
//                          (a checkpoint's holds the added blocks only: the rest is the base, expanded again)
//   tunekit_method.json    { "kind": "llama-pro", "numExpandedBlocks": n }
// so `AutoModelForCausalLM.from_pretrained(<train artifact>)` loads it; there is nothing to merge.
import { expandedLayers } from '@tunekit/core'
import type { FloatTensor } from '../safetensors.ts'
import { FULL_WEIGHTS, readModelFolder, writeModelFolder } from './full.ts'
import type { MethodLayout, ReadArtifact } from './types.ts'

/**
 * The expanded model's tensors from the base's (LLaMA-Factory's scripts/llama_pro.py): layer i of
 * the base moves to its place in the expanded model, and after every (layers / n)-th layer comes a
 * copy whose `o_proj` and `down_proj` tensors are zero, so the copy adds nothing to the residual
 * stream and the expanded model computes the base's function. Tensors outside the layers are kept.
 */
export function expandTensors(base: ReadonlyMap<string, FloatTensor>, numLayers: number, numExpandedBlocks: number): Map<string, FloatTensor> {
  const out = new Map<string, FloatTensor>()
  for (const [name, t] of base) if (!name.startsWith('model.layers.')) out.set(name, t)
  expandedLayers(numLayers, numExpandedBlocks).forEach(({ source, added }, j) => {
    const from = `model.layers.${source}.`
    for (const [name, t] of base) {
      if (!name.startsWith(from)) continue
      const zero = added && (name.includes('o_proj') || name.includes('down_proj'))
      out.set(`model.layers.${j}.${name.slice(from.length)}`, zero ? { shape: t.shape, data: new Float32Array(t.data.length) } : added ? { shape: t.shape, data: Float32Array.from(t.data) } : t)
    }
  })
  return out
}

export const llamaPro = {
  files: ['config.json', FULL_WEIGHTS],
  write: (dir, a) => writeModelFolder(dir, a.tensors, a.family, a.method.config, { kind: 'llama-pro', numExpandedBlocks: a.method.numExpandedBlocks, base_model_name_or_path: a.baseModel }),
  read: async (dir): Promise<ReadArtifact | undefined> => {
    const found = await readModelFolder(dir, 'llama-pro')
    return found && { method: { kind: 'llama-pro', numExpandedBlocks: Number(found.marker.numExpandedBlocks), config: found.config }, tensors: found.tensors }
  },
} satisfies MethodLayout<'llama-pro'>
