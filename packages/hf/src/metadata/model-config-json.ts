// config.json in the widest form that stays correct: what transformers 4.x reads (`rope_theta`,
// `rope_scaling`, `torch_dtype`) beside what transformers 5 reads (`rope_parameters`, `dtype`).
// Transformers 4.38 ignores `rope_parameters` and, without `rope_theta`, silently uses 10000, so a
// config with only the new form gives a Llama-3 base (theta 500000) wrong logits with no warning.
import { ropeScalingJson, writeFileAtomic, type ModelConfig } from '@tunekit/core'
import { familyOf } from '../family-of.ts'

/** Storage types of float weights and their torch names (config.json `torch_dtype` / `dtype`). */
export const torchDtypeNames = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' } as const
export type StoredFloatDtype = keyof typeof torchDtypeNames

/** Fields the writer derives itself; a base's own values of these are never copied. */
const DERIVED = new Set(['rope_theta', 'rope_scaling', 'rope_parameters', 'torch_dtype', 'dtype', 'transformers_version', '_name_or_path', 'pad_token_id'])

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * The base's rope scaling (YaRN, llama3, linear, …) without `rope_theta`, from either form, or null
 * for plain rotary embeddings.
 */
function ropeScaling(base: Record<string, unknown>): Record<string, unknown> | null {
  const old = base.rope_scaling
  if (isObject(old)) return old
  const params = base.rope_parameters
  if (!isObject(params)) return null
  const { rope_theta: _theta, ...rest } = params
  const type = rest.rope_type ?? rest.type
  return type === undefined || type === 'default' ? null : rest
}

/** config.json's fields of a one-label `*ForSequenceClassification` (num_labels is derived from id2label). */
function sequenceClassificationFields(architectures: unknown): Record<string, unknown> {
  const names = Array.isArray(architectures) ? architectures.map(String) : []
  return { architectures: names.map((a) => a.replace(/ForCausalLM$/, 'ForSequenceClassification')), id2label: { 0: 'LABEL_0' }, label2id: { LABEL_0: 0 } }
}

export interface ModelConfigJsonOptions {
  /** The base model's config.json as parsed: fields tunekit does not model are kept. */
  base?: Record<string, unknown>
  /** Storage type of the weights beside it. */
  dtype: StoredFloatDtype
  /** The tokenizer's pad id, when the model is saved with its tokenizer. */
  padTokenId?: number | null
  /**
   * A reward model (the rm stage): transformers' `<Family>ForSequenceClassification` with one label,
   * the scalar head `score` in place of lm_head, as its `save_pretrained` writes the config.
   */
  sequenceClassification?: boolean
}

/**
 * config.json for a model tunekit writes (random, merged): the base's fields, the family's fields
 * from `config` on top, rotary embeddings and dtype in both transformers 4 and 5 spellings, keys
 * sorted as transformers' `to_json_string` sorts them. Both backends write it through here.
 */
export function modelConfigJson(family: string, config: ModelConfig, o: ModelConfigJsonOptions): Record<string, unknown> {
  const base = o.base ?? {}
  const info = familyOf(family)
  // family 'auto': the checkpoint's own rotary fields (gpt_neox's rotary_pct, …) are its architecture's; kept as written
  const derived = info.probed ? new Set([...DERIVED].filter((k) => !k.startsWith('rope_'))) : DERIVED
  const kept = Object.fromEntries(Object.entries(base).filter(([k]) => !derived.has(k)))
  const { torch_dtype: _written, ...familyFields } = info.writeConfig(config)
  // the config's own scaling (what both backends compute with) before the base's raw dict
  const scaling = config.ropeScaling ? ropeScalingJson(config.ropeScaling) : ropeScaling(base)
  const name = torchDtypeNames[o.dtype]
  // An encoder has learned absolute positions: no rotary fields at all; a vision-language model's are its text_config's (the family writes them).
  const rope = config.encoder !== undefined || config.vision !== undefined || info.probed ? {} : {
    rope_theta: config.ropeTheta,
    rope_scaling: scaling,
    rope_parameters: { rope_type: 'default', ...scaling, rope_theta: config.ropeTheta },
  }
  const json: Record<string, unknown> = {
    ...kept,
    ...familyFields,
    ...rope,
    torch_dtype: name,
    dtype: name,
    ...(o.padTokenId !== undefined && o.padTokenId !== null ? { pad_token_id: o.padTokenId } : {}),
    ...(o.sequenceClassification ? sequenceClassificationFields(familyFields.architectures) : {}),
  }
  return Object.fromEntries(Object.keys(json).sort().map((k) => [k, json[k]]))
}

// Fields transformers 5's strict config dataclasses type as float: a whole value written as `30`
// (what JSON.stringify gives for 30.0) is refused there ("expected float, got int"), e.g. Gemma 2's caps.
const FLOAT_FIELDS = ['final_logit_softcapping', 'attn_logit_softcapping', 'rms_norm_eps', 'initializer_range', 'router_aux_loss_coef', 'router_jitter_noise']
// (at any depth: a vision-language model's text_config holds rms_norm_eps)
const wholeFloat = new RegExp(`^( +"(?:${FLOAT_FIELDS.join('|')})": -?\\d+)(,?)$`, 'gm')

/** config.json's text: two-space JSON with float-typed fields written as floats (`30.0`). */
export function modelConfigJsonText(json: Record<string, unknown>): string {
  return `${JSON.stringify(json, null, 2).replace(wholeFloat, '$1.0$2')}\n`
}

/** Writes {@link modelConfigJson}'s config.json atomically; the one writer both backends and every method use. */
export function writeModelConfigJson(path: string, family: string, config: ModelConfig, o: ModelConfigJsonOptions): Promise<void> {
  return writeFileAtomic(path, modelConfigJsonText(modelConfigJson(family, config, o)))
}
