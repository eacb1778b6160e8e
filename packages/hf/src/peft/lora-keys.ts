// PEFT's names for LoRA adapters of transformers decoders, as `save_pretrained` writes them
// (checked against PEFT 0.21 in test/model/python-interop.test.ts):
//   base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight          [r, in]
//   base_model.model.model.layers.{i}.self_attn.q_proj.lora_B.weight          [out, r]
//   base_model.model.model.layers.{i}.self_attn.q_proj.lora_magnitude_vector  [out]  (DoRA's m;
//     PEFT drops the `.default.weight` of its parameter's name)
//   base_model.model.lm_head.weight, base_model.model.model.embed_tokens.weight  (modules_to_save:
//     the full trained copy, under the base weight's own name — PEFT drops `modules_to_save.default`)
//   base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta  [tokens, hidden]
//     (trainable tokens: the new values of those rows, not a difference)
// A vision-language model (LLaVA, Qwen2-VL: transformers 5's *ForConditionalGeneration) keeps its
// language model under `model.language_model.` (base_model.model.model.language_model.layers.{i}…)
// and its projector beside it: base_model.model.model.multi_modal_projector.linear_1.lora_A.weight,
// base_model.model.model.visual.merger.mlp.0.lora_A.weight (modules_to_save: the projector's own
// weights, base_model.model.model.multi_modal_projector.linear_1.weight, …).
// and adapter_config.json as PEFT's LoraConfig writes it, so `PeftModel.from_pretrained` loads what
// either backend wrote. This file is the only place that spells LoRA's artifact layout.
import { towerOnlyModules, type LoraOptions, type VisionTraining } from '@tunekit/core'
import { moduleWeightName } from '../hf-folder.ts'
import { familyOf } from '../family-of.ts'

export const ADAPTER_CONFIG = 'adapter_config.json'
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors'

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
  /**
   * PEFT's `init_lora_weights` when A and B start from the base weights: PiSSA (`'pissa'`,
   * `'pissa_niter_N'`) or LoftQ; absent for the drawn start (`init`). A PiSSA train artifact is
   * written converted (peft/pissa.ts) and has none.
   */
  initLoraWeights?: 'pissa' | `pissa_niter_${number}` | 'loftq'
  /** DoRA: a magnitude vector per adapted module (PEFT `use_dora`). @defaultValue false */
  useDora?: boolean
  /** Linear module names (`'all-linear'` = every linear module of the family but lm_head). */
  targetModules: readonly string[] | 'all-linear'
  /** Modules trained in full and saved with the adapter (`embed_tokens`, `lm_head`). */
  modulesToSave?: readonly string[]
  /** Token ids whose rows are trained, per module (PEFT `trainable_token_indices`). */
  trainableTokens?: Readonly<Record<string, readonly number[]>>
  /** A vision-language model's tower is adapted too (`model.vision.freezeTower: false`): its linears are targets, PEFT excludes only what is no linear. @defaultValue false */
  towerAdapted?: boolean
}

/** Resolves a recipe's `lora` group into a {@link LoraSpec}; `trainableTokenIds` are the ids of `lora.trainableTokens`. */
export function loraSpecFromRecipe(lora: LoraOptions, family: string, trainableTokenIds: readonly number[] = [], vision?: VisionTraining): LoraSpec {
  const info = familyOf(family)
  return {
    ...(info.vision && vision?.freezeTower === false ? { towerAdapted: true } : {}),
    rank: lora.rank,
    alpha: lora.alpha,
    dropout: lora.dropout,
    // a warm start's folder (lora.init) gives the start values; the adapter is still PEFT's default kind
    init: lora.init === 'gaussian' ? 'gaussian' : 'default',
    rsLora: lora.rsLora,
    ...(lora.initLoraWeights !== true ? { initLoraWeights: lora.initLoraWeights } : {}),
    useDora: lora.useDora,
    targetModules: lora.targetModules ?? info.defaultTargetModules,
    modulesToSave: lora.modulesToSave,
    // PEFT applies a plain list of indices to the input embedding (and to lm_head when tied).
    ...(lora.trainableTokens !== false && trainableTokenIds.length > 0 ? { trainableTokens: { embed_tokens: trainableTokenIds } } : {}),
  }
}

/** `alpha / rank`, or `alpha / sqrt(rank)` with rsLoRA: the factor of B·A in `W + scale·B·A`. */
export function loraScale(s: Pick<LoraSpec, 'alpha' | 'rank' | 'rsLora'>): number {
  return s.rsLora ? s.alpha / Math.sqrt(s.rank) : s.alpha / s.rank
}

/** The concrete linear module names of a spec's targets, in the family's order (family 'auto': as the recipe lists them). */
export function targetModuleList(spec: LoraSpec, family: string): string[] {
  const info = familyOf(family)
  // an adapted vision tower's own linears follow the language model's and the projector's
  const linear = spec.towerAdapted ? [...info.linearModules, ...towerOnlyModules(info)] : info.linearModules
  // family 'auto': the recipe's names are the folder's own (plan checked them against its weights)
  if (info.probed && spec.targetModules !== 'all-linear') return [...spec.targetModules]
  if (spec.targetModules === 'all-linear') return [...linear]
  return linear.filter((m) => spec.targetModules.includes(m))
}

/** PEFT key of a LoRA matrix: `base_model.model.model.layers.{layer}.self_attn.q_proj.lora_A.weight`. */
export function loraKey(module: string, layer: number, matrix: 'lora_A' | 'lora_B'): string {
  return `${PREFIX}${moduleWeightName(module, layer).replace(/\.weight$/, '')}.${matrix}.weight`
}

/** PEFT key of DoRA's magnitude vector: `base_model.model.model.layers.{layer}.self_attn.q_proj.lora_magnitude_vector`. */
export function magnitudeKey(module: string, layer: number): string {
  return `${PREFIX}${moduleWeightName(module, layer).replace(/\.weight$/, '')}.lora_magnitude_vector`
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
  | { kind: 'magnitude'; module: string; layer: number }
  | { kind: 'saved'; module: string }
  | { kind: 'tokens'; module: string }
  /** A LoRA matrix of a vision-language model's projector (one module, no layers): LLaVA's `linear_1`, Qwen2-VL's `mlp.0`. */
  | { kind: 'projector'; module: string; matrix: 'lora_A' | 'lora_B' }

// the decoder layers of a text model (model.layers) or of a vision-language model's language model (model.language_model.layers)
const LAYERS = String.raw`^base_model\.model\.model\.(?:language_model\.)?layers\.(\d+)\.(?:self_attn|mlp)\.(\w+)\.`
const LORA_KEY = new RegExp(String.raw`${LAYERS}(lora_A|lora_B)\.weight$`)
const MAGNITUDE_KEY = new RegExp(`${LAYERS}lora_magnitude_vector$`)
// a vision-language model's projector module path, and the module name modules_to_save gives it
const PROJECTORS: Record<string, string> = { multi_modal_projector: 'multi_modal_projector', 'visual.merger': 'merger' }
const PROJECTOR = /^base_model\.model\.model\.(multi_modal_projector|visual\.merger)\.(.+)$/

/** Parses a PEFT key of a decoder adapter, or undefined when it is not one tunekit writes. */
export function parseAdapterKey(key: string): AdapterKey | undefined {
  const lora = LORA_KEY.exec(key)
  if (lora) return { kind: 'lora', module: lora[2]!, layer: Number(lora[1]), matrix: lora[3] as 'lora_A' | 'lora_B' }
  const magnitude = MAGNITUDE_KEY.exec(key)
  if (magnitude) return { kind: 'magnitude', module: magnitude[2]!, layer: Number(magnitude[1]) }
  if (key === `${PREFIX}lm_head.weight`) return { kind: 'saved', module: 'lm_head' }
  if (key === `${PREFIX}score.weight`) return { kind: 'saved', module: 'score' }
  if (key === `${PREFIX}model.embed_tokens.weight` || key === `${PREFIX}model.language_model.embed_tokens.weight`) return { kind: 'saved', module: 'embed_tokens' }
  const tokens = /^base_model\.model\.(?:model\.(?:language_model\.)?)?(embed_tokens|lm_head)\.token_adapter\.trainable_tokens_delta$/.exec(key)
  if (tokens) return { kind: 'tokens', module: tokens[1]! }
  const projector = PROJECTOR.exec(key)
  if (projector) {
    const matrix = /^([\w.]+)\.(lora_A|lora_B)\.weight$/.exec(projector[2]!)
    if (matrix) return { kind: 'projector', module: matrix[1]!, matrix: matrix[2] as 'lora_A' | 'lora_B' }
    if (/^[\w.]+\.(weight|bias)$/.test(projector[2]!) && !projector[2]!.includes('lora_')) return { kind: 'saved', module: PROJECTORS[projector[1]!]! }
  }
  return undefined
}
