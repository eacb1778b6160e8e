// PEFT's names for LoRA adapters of transformers decoders, as `save_pretrained` writes them
// (checked against PEFT 0.21 in test/model/python-interop.test.ts):
//   base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight          [r, in]
//   base_model.model.model.layers.{i}.self_attn.q_proj.lora_B.weight          [out, r]
//   base_model.model.lm_head.weight, base_model.model.model.embed_tokens.weight  (modules_to_save:
//     the full trained copy, under the base weight's own name — PEFT drops `modules_to_save.default`)
//   base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta  [tokens, hidden]
//     (trainable tokens: the new values of those rows, not a difference)
// and adapter_config.json as PEFT's LoraConfig writes it, so `PeftModel.from_pretrained` loads what
// either backend wrote. This file is the only place that spells LoRA's artifact layout.
import { fail, writeJsonAtomic, type LoraOptions } from '@tunekit/core'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { familyOf, moduleWeightName } from '../hf-folder.ts'
import { readSafetensors, writeSafetensors, type FloatTensor } from '../safetensors.ts'
import type { MethodLayout, ReadArtifact } from './types.ts'

const PREFIX = 'base_model.model.'

/** What an adapter holds, in tunekit's words; `adapter_config.json` is derived from it. */
export interface LoraSpec {
  rank: number
  alpha: number
  /** @defaultValue 0 */
  dropout?: number
  /** A's initialisation. @defaultValue 'default' */
  init?: 'default' | 'gaussian'
  /** @defaultValue false */
  rsLora?: boolean
  /** Linear module names (`'all-linear'` = every linear module of the family but lm_head). */
  targetModules: readonly string[] | 'all-linear'
  /** Modules trained in full and saved with the adapter (`embed_tokens`, `lm_head`). */
  modulesToSave?: readonly string[]
  /** Token ids whose rows are trained, per module (PEFT `trainable_token_indices`). */
  trainableTokens?: Readonly<Record<string, readonly number[]>>
}

/** Resolves a recipe's `lora` group into a {@link LoraSpec}; `trainableTokenIds` are the ids of `lora.trainableTokens`. */
export function loraSpecFromRecipe(lora: LoraOptions, family: string, trainableTokenIds: readonly number[] = []): LoraSpec {
  const info = familyOf(family)
  return {
    rank: lora.rank,
    alpha: lora.alpha,
    dropout: lora.dropout,
    init: lora.init,
    rsLora: lora.rsLora,
    targetModules: lora.targetModules ?? info.defaultTargetModules,
    modulesToSave: lora.modulesToSave,
    // PEFT applies a plain list of indices to the input embedding (and to lm_head when tied).
    ...(lora.trainableTokens !== false && trainableTokenIds.length > 0 ? { trainableTokens: { embed_tokens: trainableTokenIds } } : {}),
  }
}

/** The concrete linear module names of a spec's targets, in the family's order. */
export function targetModuleList(spec: LoraSpec, family: string): string[] {
  const linear = familyOf(family).linearModules
  if (spec.targetModules === 'all-linear') return [...linear]
  return linear.filter((m) => spec.targetModules.includes(m))
}

/** PEFT key of a LoRA matrix: `base_model.model.model.layers.{layer}.self_attn.q_proj.lora_A.weight`. */
export function loraKey(module: string, layer: number, matrix: 'lora_A' | 'lora_B'): string {
  return `${PREFIX}${moduleWeightName(module, layer).replace(/\.weight$/, '')}.${matrix}.weight`
}

/** PEFT key of a saved module's full copy: `base_model.model.lm_head.weight`. */
export function savedModuleKey(module: string): string {
  return `${PREFIX}${moduleWeightName(module)}`
}

/** PEFT key of trainable-token rows: `base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta`. */
export function trainableTokensKey(module: string): string {
  return `${PREFIX}${moduleWeightName(module).replace(/\.weight$/, '')}.token_adapter.trainable_tokens_delta`
}

/** What a PEFT key holds, parsed back. */
export type AdapterKey =
  | { kind: 'lora'; module: string; layer: number; matrix: 'lora_A' | 'lora_B' }
  | { kind: 'saved'; module: string }
  | { kind: 'tokens'; module: string }

/** Parses a PEFT key of a decoder adapter, or undefined when it is not one tunekit writes. */
export function parseAdapterKey(key: string): AdapterKey | undefined {
  const lora = /^base_model\.model\.model\.layers\.(\d+)\.(?:self_attn|mlp)\.(\w+)\.(lora_A|lora_B)\.weight$/.exec(key)
  if (lora) return { kind: 'lora', module: lora[2]!, layer: Number(lora[1]), matrix: lora[3] as 'lora_A' | 'lora_B' }
  if (key === `${PREFIX}lm_head.weight`) return { kind: 'saved', module: 'lm_head' }
  if (key === `${PREFIX}model.embed_tokens.weight`) return { kind: 'saved', module: 'embed_tokens' }
  const tokens = /^base_model\.model\.(?:model\.)?(embed_tokens|lm_head)\.token_adapter\.trainable_tokens_delta$/.exec(key)
  if (tokens) return { kind: 'tokens', module: tokens[1]! }
  return undefined
}

export const ADAPTER_CONFIG = 'adapter_config.json'
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors'

/** adapter_config.json as PEFT's LoraConfig writes it (fields understood by PEFT ≥ 0.10). */
export function adapterConfigJson(spec: LoraSpec, family: string, baseModel: string | null, revision: string | null = null): Record<string, unknown> {
  const tokens = spec.trainableTokens && Object.keys(spec.trainableTokens).length > 0 ? spec.trainableTokens : undefined
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: baseModel,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: (spec.init ?? 'default') === 'gaussian' ? 'gaussian' : true,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: spec.alpha,
    lora_dropout: spec.dropout ?? 0,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: spec.modulesToSave && spec.modulesToSave.length > 0 ? [...spec.modulesToSave] : null,
    peft_type: 'LORA',
    r: spec.rank,
    rank_pattern: {},
    revision,
    target_modules: targetModuleList(spec, family),
    task_type: 'CAUSAL_LM',
    // Only written when used: older PEFT versions do not know the field.
    ...(tokens ? { trainable_token_indices: Object.fromEntries(Object.entries(tokens).map(([m, ids]) => [m, [...ids]])) } : {}),
    use_dora: false,
    use_rslora: spec.rsLora ?? false,
  }
}

/** Reads the LoraSpec back from an adapter_config.json object (PEFT's or tunekit's). */
export function specFromAdapterConfig(json: Record<string, unknown>, file = ADAPTER_CONFIG): LoraSpec {
  const bad = (reason: string): never => fail('InvalidRecipe', { path: file }, `${file}: ${reason}`)
  if (json.peft_type !== 'LORA') bad(`peft_type is ${JSON.stringify(json.peft_type)}; tunekit reads LORA adapters`)
  if (typeof json.r !== 'number' || typeof json.lora_alpha !== 'number') bad('r and lora_alpha must be numbers')
  const targets = json.target_modules
  const tokens = json.trainable_token_indices
  return {
    rank: json.r as number,
    alpha: json.lora_alpha as number,
    dropout: typeof json.lora_dropout === 'number' ? json.lora_dropout : 0,
    init: json.init_lora_weights === 'gaussian' ? 'gaussian' : 'default',
    rsLora: json.use_rslora === true,
    targetModules: targets === 'all-linear' ? 'all-linear' : Array.isArray(targets) ? targets.map(String) : typeof targets === 'string' ? [targets] : bad('target_modules is missing'),
    modulesToSave: Array.isArray(json.modules_to_save) ? json.modules_to_save.map(String) : [],
    ...(Array.isArray(tokens) ? { trainableTokens: { embed_tokens: tokens.map(Number) } } : {}),
    ...(tokens && typeof tokens === 'object' && !Array.isArray(tokens)
      ? { trainableTokens: Object.fromEntries(Object.entries(tokens as Record<string, unknown[]>).map(([m, ids]) => [m, ids.map(Number)])) }
      : {}),
  }
}

export interface AdapterContents {
  /** Tensors by PEFT key (see loraKey). */
  tensors: ReadonlyMap<string, FloatTensor>
  loraConfig: LoraSpec
  family: string
  /** `base_model_name_or_path`: the hub id or folder of the base model. */
  baseModel: string | null
  revision?: string | null
}

/** Writes adapter_config.json and adapter_model.safetensors (float32) into `dir`, each atomically. */
export async function writeAdapter(dir: string, contents: AdapterContents): Promise<void> {
  const sorted = [...contents.tensors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) // PEFT's files list keys sorted too
  await writeSafetensors(join(dir, ADAPTER_WEIGHTS), sorted, { metadata: { format: 'pt' } })
  await writeJsonAtomic(join(dir, ADAPTER_CONFIG), adapterConfigJson(contents.loraConfig, contents.family, contents.baseModel, contents.revision ?? null))
}

/** An adapter read back: tensors as float32 by PEFT key, the spec and the raw config. */
export interface Adapter {
  tensors: Map<string, FloatTensor>
  loraConfig: LoraSpec
  /** adapter_config.json as written. */
  json: Record<string, unknown>
}

/** Reads an adapter in PEFT layout (written by tunekit or by PEFT). */
export async function readAdapter(dir: string): Promise<Adapter> {
  const file = join(dir, ADAPTER_CONFIG)
  const text = await readFile(file, 'utf8').catch(() => fail('InvalidRecipe', { path: dir }, `${dir} has no ${ADAPTER_CONFIG}; it is not a PEFT adapter folder`))
  const json = JSON.parse(text) as Record<string, unknown>
  const { tensors } = await readSafetensors(join(dir, ADAPTER_WEIGHTS))
  const floats = new Map<string, FloatTensor>()
  for (const [key, t] of tensors) {
    if (!(t.data instanceof Float32Array)) fail('MalformedSafetensors', { path: join(dir, ADAPTER_WEIGHTS) }, ADAPTER_WEIGHTS, `${key} is not a float tensor`)
    floats.set(key, t as FloatTensor)
  }
  return { tensors: floats, loraConfig: specFromAdapterConfig(json, file), json }
}

const exists = (file: string): Promise<boolean> => stat(file).then(() => true, () => false)

/** LoRA's train artifact: a PEFT adapter folder (adapter_config.json + adapter_model.safetensors). */
export const lora = {
  files: [ADAPTER_CONFIG, ADAPTER_WEIGHTS],
  write: (dir, a) => writeAdapter(dir, { tensors: a.tensors, loraConfig: a.method.spec, family: a.family, baseModel: a.baseModel, revision: a.revision ?? null }),
  read: async (dir): Promise<ReadArtifact | undefined> => {
    if (!(await exists(join(dir, ADAPTER_CONFIG)))) return undefined
    const adapter = await readAdapter(dir)
    return { method: { kind: 'lora', spec: adapter.loraConfig }, tensors: adapter.tensors }
  },
} satisfies MethodLayout<'lora'>
