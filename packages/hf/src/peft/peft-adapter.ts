// The two files of every PEFT adapter folder (LoRA, IA³, prompt tuning): adapter_config.json with
// keys sorted, as PEFT's save_pretrained writes them, and adapter_model.safetensors (float32, keys
// sorted). Which PEFT method a folder holds is its config's `peft_type`.
import { TunekitError, writeJsonAtomic } from '@tunekit/core'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { readHeaderSync, writeSafetensors, type FloatTensor } from '../safetensors.ts'
import { otherPeftIssues, type PeftBase } from './peft-check.ts'
import { readFloats } from './full.ts'
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS } from './lora-keys.ts'

const byKey = <T>(entries: Iterable<[string, T]>): Array<[string, T]> => [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

/** Writes adapter_model.safetensors, then adapter_config.json (keys sorted), each atomically. */
export async function writePeftAdapter(dir: string, config: Record<string, unknown>, tensors: ReadonlyMap<string, FloatTensor>): Promise<void> {
  await writeSafetensors(join(dir, ADAPTER_WEIGHTS), byKey(tensors), { metadata: { format: 'pt' } })
  await writeJsonAtomic(join(dir, ADAPTER_CONFIG), Object.fromEntries(byKey(Object.entries(config))))
}

/** The `peft_type` of a folder's adapter_config.json; undefined when it has none (or it is not JSON: LoRA's reader names that). */
export async function peftTypeOf(dir: string): Promise<unknown> {
  const text = await readFile(join(dir, ADAPTER_CONFIG), 'utf8').catch(() => undefined)
  if (text === undefined) return undefined
  try {
    return (JSON.parse(text) as Record<string, unknown>).peft_type
  } catch {
    return undefined
  }
}

/**
 * The config and tensors of a PEFT adapter of `peftType` (IA³, prompt tuning), checked from the
 * header first (peft-check.ts), against `base` when given; undefined for a folder of another method.
 */
export async function readPeftAdapter(dir: string, peftType: string, base?: PeftBase): Promise<{ json: Record<string, unknown>; tensors: Map<string, FloatTensor> } | undefined> {
  if ((await peftTypeOf(dir)) !== peftType) return undefined
  const json = JSON.parse(await readFile(join(dir, ADAPTER_CONFIG), 'utf8')) as Record<string, unknown>
  const errors = (otherPeftIssues(dir, json, readHeaderSync(join(dir, ADAPTER_WEIGHTS)).tensors, base) ?? []).filter((i) => i.severity === 'error')
  if (errors.length > 0) throw new TunekitError(errors)
  return { json, tensors: await readFloats(join(dir, ADAPTER_WEIGHTS)) }
}
