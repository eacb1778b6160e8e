// LoRA's train artifact: adapter_config.json as PEFT's LoraConfig writes it and the tensors under
// PEFT's keys (lora-keys.ts), checked on reading (lora-check.ts), so `PeftModel.from_pretrained`
// loads what either backend wrote and tunekit refuses an adapter that does not fit.
import { fail, loraExcludeModules, TunekitError, writeJsonAtomic } from '@tunekit/core'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { openSafetensors, writeSafetensors, type FloatTensor } from '../safetensors.ts'
import { adapterIssues, readAdapterConfigText, type AdapterBase } from './lora-check.ts'
import { familyOf } from '../family-of.ts'
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, targetModuleList, type LoraSpec } from './lora-keys.ts'
import { peftTypeOf, writePeftAdapter } from './peft-adapter.ts'
import { isLoftq, LOFTQ_BASE, splitLoftqTensors } from './loftq.ts'
import { readFloats } from './full.ts'
import type { MethodLayout, ReadArtifact } from './types.ts'

export * from './lora-keys.ts'



/**
 * adapter_config.json with only the keys the adapter's features need, so the oldest PEFT that has
 * those features loads it: `PeftConfig.from_pretrained` passes every key to `LoraConfig(...)`, and
 * a key that PEFT version does not know is a TypeError (PEFT 0.21's `save_pretrained` writes 18 that
 * PEFT 0.9 does not know). By the LoraConfig fields of each release: plain LoRA (and
 * `modules_to_save`) needs PEFT ≥ 0.6, `init: 'gaussian'` ≥ 0.7, rsLoRA (`use_rslora`) ≥ 0.8,
 * trainable tokens (`trainable_token_indices`) ≥ 0.15, DoRA (`use_dora`) ≥ 0.9; loading is tested in 0.9.0 and 0.21
 * (test/compat/matrix.test.ts). The README's table says the same.
 * Keys sorted, as PEFT writes them. Both backends write it through here.
 */
export function adapterConfigJson(spec: LoraSpec, family: string, baseModel: string | null, revision: string | null = null): Record<string, unknown> {
  const tokens = spec.trainableTokens && Object.keys(spec.trainableTokens).length > 0 ? spec.trainableTokens : undefined
  const exclude = loraExcludeModules(familyOf(family), spec.towerAdapted === true)
  const json: Record<string, unknown> = {
    base_model_name_or_path: baseModel,
    bias: 'none',
    // a vision-language model's frozen tower (LLaVA's CLIP q/k/v_proj share the decoder's names), or what of an adapted one is no linear: PEFT ≥ 0.14's regex
    ...(exclude !== undefined ? { exclude_modules: exclude } : {}),
    fan_in_fan_out: false,
    inference_mode: true,
    // LoftQ's adapter is a plain LoRA of its replaced base (loftq.ts): PEFT must not run loftq_init again on load
    init_lora_weights: spec.initLoraWeights === 'loftq' ? true : spec.initLoraWeights ?? ((spec.init ?? 'default') === 'gaussian' ? 'gaussian' : true),
    lora_alpha: spec.alpha,
    lora_dropout: spec.dropout ?? 0,
    ...(spec.modulesToSave && spec.modulesToSave.length > 0 ? { modules_to_save: [...spec.modulesToSave] } : {}),
    peft_type: 'LORA',
    r: spec.rank,
    ...(revision !== null ? { revision } : {}),
    target_modules: targetModuleList(spec, family),
    // An encoder's adapter is a plain PeftModel's (the torch qa-train's): PEFT 0.21's QUESTION_ANS
    // task type drops token_type_ids from the forward, so neither backend names a task. A saved
    // `score` head is a reward model's (the rm stage): PEFT's sequence-classification task.
    task_type: familyOf(family).kind === 'encoder' ? null : spec.modulesToSave?.includes('score') ? 'SEQ_CLS' : 'CAUSAL_LM',
    ...(tokens ? { trainable_token_indices: Object.fromEntries(Object.entries(tokens).map(([m, ids]) => [m, [...ids]])) } : {}),
    ...(spec.useDora ? { use_dora: true } : {}),
    ...(spec.rsLora ? { use_rslora: true } : {}),
  }
  return Object.fromEntries(Object.keys(json).sort().map((k) => [k, json[k]]))
}

/** Reads the LoraSpec back from an adapter_config.json object (PEFT's or tunekit's). */
export function specFromAdapterConfig(json: Record<string, unknown>, file = ADAPTER_CONFIG): LoraSpec {
  const bad = (reason: string): never => fail('MalformedAdapter', { path: file }, file, reason)
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
    ...(typeof json.init_lora_weights === 'string' && /^(pissa(_niter_\d+)?|loftq)$/.test(json.init_lora_weights) ? { initLoraWeights: json.init_lora_weights as NonNullable<LoraSpec['initLoraWeights']> } : {}),
    useDora: json.use_dora === true,
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
  await writePeftAdapter(dir, adapterConfigJson(contents.loraConfig, contents.family, contents.baseModel, contents.revision ?? null), contents.tensors)
}

/** An adapter read back: tensors as float32 by PEFT key, the spec and the raw config. */
export interface Adapter {
  tensors: Map<string, FloatTensor>
  loraConfig: LoraSpec
  /** adapter_config.json as written. */
  json: Record<string, unknown>
}

/**
 * Reads an adapter in PEFT layout (written by tunekit or by PEFT), checked before it is used:
 * adapter_config.json against the tensors and, with `base`, against the model it is applied to
 * (lora-check.ts). Every problem is a catalog error, thrown at once.
 */
export async function readAdapter(dir: string, base?: AdapterBase): Promise<Adapter> {
  const file = join(dir, ADAPTER_CONFIG)
  const text = await readFile(file, 'utf8').catch(() => fail('MalformedAdapter', { path: dir, value: dir }, file, `${dir} has no ${ADAPTER_CONFIG}, so it is not a PEFT adapter folder`))
  const json = readAdapterConfigText(file, text)
  const weights = await openSafetensors(join(dir, ADAPTER_WEIGHTS))
  const floats = new Map<string, FloatTensor>()
  try {
    // Checked from the header first: no tensor is read from an adapter that does not fit.
    const errors = adapterIssues(dir, json, weights.header.tensors, base).filter((i) => i.severity === 'error')
    if (errors.length > 0) throw new TunekitError(errors)
    for (const key of weights.names) floats.set(key, await weights.readFloat(key))
  } finally {
    await weights.close()
  }
  return { tensors: floats, loraConfig: specFromAdapterConfig(json, file), json }
}

const exists = (file: string): Promise<boolean> => stat(file).then(() => true, () => false)

/**
 * LoRA's train artifact: a PEFT adapter folder (adapter_config.json + adapter_model.safetensors);
 * LoftQ's adds its replaced base weights (loftq_base.safetensors, loftq.ts).
 */
export const lora = {
  files: [ADAPTER_CONFIG, ADAPTER_WEIGHTS],
  write: async (dir, a) => {
    const { adapter, base } = isLoftq(a.method.spec) ? splitLoftqTensors(a.tensors) : { adapter: a.tensors, base: new Map<string, FloatTensor>() }
    if (base.size > 0) await writeSafetensors(join(dir, LOFTQ_BASE), [...base].sort(([x], [y]) => (x < y ? -1 : 1)), { metadata: { format: 'pt' } })
    await writeAdapter(dir, { tensors: adapter, loraConfig: a.method.spec, family: a.family, baseModel: a.baseModel, revision: a.revision ?? null })
  },
  read: async (dir, base): Promise<ReadArtifact | undefined> => {
    if (!(await exists(join(dir, ADAPTER_CONFIG)))) return undefined
    // another PEFT method's adapter (IA³, prompt tuning) is its layout's; a broken config is LoRA's to name
    const type = await peftTypeOf(dir)
    if (type === 'IA3' || type === 'PROMPT_TUNING' || type === 'P_TUNING' || type === 'PREFIX_TUNING') return undefined
    const adapter = await readAdapter(dir, base)
    if (!(await exists(join(dir, LOFTQ_BASE)))) return { method: { kind: 'lora', spec: adapter.loraConfig }, tensors: adapter.tensors }
    const replaced = await readFloats(join(dir, LOFTQ_BASE))
    return { method: { kind: 'lora', spec: { ...adapter.loraConfig, initLoraWeights: 'loftq' } }, tensors: new Map([...adapter.tensors, ...replaced]) }
  },
} satisfies MethodLayout<'lora'>
