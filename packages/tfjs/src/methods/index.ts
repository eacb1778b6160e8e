import type { MethodKind, MethodOptions } from '@tunekit/core'
import type { ReadArtifact } from '@tunekit/hf'
import type { MergeOptions } from '../merge.ts'
import type { DecoderModel } from '../model/types.ts'
import { freeze } from './freeze.ts'
import { full } from './full.ts'
import { ia3 } from './ia3.ts'
import { llamaPro } from './llama-pro.ts'
import { lora } from './lora.ts'
import { pTuning } from './p-tuning.ts'
import { prefixTuning } from './prefix-tuning.ts'
import { promptTuning } from './prompt-tuning.ts'
import type { AdapterState } from './state.ts'
import type { SetupInput, TfjsMethod } from './types.ts'

/** How each method trains on tfjs, keyed by kind (core's `methods` has the same keys). */
export const tfjsMethods = { lora, full, freeze, ia3, 'prompt-tuning': promptTuning, 'p-tuning': pTuning, 'prefix-tuning': prefixTuning, 'llama-pro': llamaPro } satisfies { [K in MethodKind]: TfjsMethod<K> }

// One generic view of the registry: the entry of a method's kind takes that method's options.
const entry = (kind: MethodKind): TfjsMethod<MethodKind> => tfjsMethods[kind] as unknown as TfjsMethod<MethodKind>

export function setupMethod(input: SetupInput<MethodKind> & { method: MethodOptions }): ReturnType<TfjsMethod<MethodKind>['setup']> {
  return entry(input.method.kind).setup(input)
}

/** The trained state of a train artifact (any method) on its base model. */
export function loadTrained(model: DecoderModel, artifact: ReadArtifact): AdapterState {
  return entry(artifact.method.kind).load(model, artifact)
}

/** The merge node's work for an artifact of any method. */
export function mergeArtifact(o: Omit<MergeOptions, 'adapter'> & { artifact: ReadArtifact }): Promise<void> {
  return entry(o.artifact.method.kind).merge(o)
}

export type { SetupInput, TfjsMethod, Trained } from './types.ts'
