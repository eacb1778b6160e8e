import { fail, type MethodKind } from '@tunekit/core'
import type { FloatTensor } from '../safetensors.ts'
import { freeze } from './freeze.ts'
import { full } from './full.ts'
import { ia3 } from './ia3.ts'
import { llamaPro } from './llama-pro.ts'
import { lora } from './lora.ts'
import { pTuning } from './p-tuning.ts'
import { prefixTuning } from './prefix-tuning.ts'
import { promptTuning } from './prompt-tuning.ts'
import type { AdapterBase } from './lora-check.ts'
import type { MethodLayout, ReadArtifact, TrainArtifact, TrainedMethod } from './types.ts'

/** The artifact layout of each training method, keyed by kind (core's `methods` registry has the same keys). */
export const layouts = { lora, full, freeze, ia3, 'prompt-tuning': promptTuning, 'p-tuning': pTuning, 'prefix-tuning': prefixTuning, 'llama-pro': llamaPro } satisfies { [K in MethodKind]: MethodLayout<K> }

/** Writes a train artifact (or the trained part of a checkpoint) in its method's layout. */
export function writeTrainArtifact(dir: string, artifact: TrainArtifact): Promise<void> {
  const layout = layouts[artifact.method.kind] as MethodLayout<MethodKind>
  return layout.write(dir, artifact as TrainArtifact<Extract<TrainedMethod, { kind: MethodKind }>>)
}

/** Reads a train artifact of any method: the layout whose files are there reads it. */
export async function readTrainArtifact(dir: string, base?: AdapterBase): Promise<ReadArtifact> {
  for (const layout of Object.values(layouts) as MethodLayout<MethodKind>[]) {
    const found = await layout.read(dir, base)
    if (found) return found
  }
  return fail('InvalidRecipe', { path: dir }, `${dir} holds no train artifact: no adapter_config.json (LoRA) and no tunekit_method.json (full, freeze)`)
}

/**
 * Full and freeze merge by replacement: the base weights with the trained tensors in their place
 * (full replaces all of them). Tensors keep their transformers names; LoRA folds B·A in instead.
 */
export function replaceTrained(base: Map<string, FloatTensor>, trained: ReadonlyMap<string, FloatTensor>): Map<string, FloatTensor> {
  for (const [name, t] of trained) base.set(name, t)
  return base
}

export type { MethodLayout, PrefixShape, PromptShape, ReadArtifact, TrainArtifact, TrainedMethod } from './types.ts'
export { ia3Key, ia3ConfigJson } from './ia3.ts'
export { PROMPT_EMBEDDINGS, promptTuningConfigJson } from './prompt-tuning.ts'
export { pTuningConfigJson, pTuningTrained } from './p-tuning.ts'
export { prefixTuningConfigJson, prefixTrained } from './prefix-tuning.ts'
export { peftTypeOf } from './peft-adapter.ts'
export { expandTensors } from './llama-pro.ts'
