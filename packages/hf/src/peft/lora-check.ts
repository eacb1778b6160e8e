// Checks of a PEFT adapter before it is applied: adapter_config.json against its own tensors
// (every key a PEFT key, lora_A [r, in] and lora_B [out, r] with the config's r, each matrix
// paired, target_modules and modules_to_save matching the tensors, DoRA's magnitude vectors as
// use_dora says) and, given the base model, against that model (module names of its family, layer
// indices, in/out widths, hidden size).
// From the safetensors header alone, so `tunekit chat --adapter` checks before loading anything.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { familyInfo, issue, isTunekitError, parseJsonText, TunekitError, type Issue, type ModelConfig } from '@tunekit/core'
import { isFloatDtype, type Dtype } from '../dtypes.ts'
import { capIssues } from '../inspect-folder.ts'
import { moduleWeightName } from '../hf-folder.ts'
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, magnitudeKey, parseAdapterKey } from './lora-keys.ts'
import { readHeaderSync } from '../safetensors.ts'
import { otherPeftIssues } from './peft-check.ts'


/** The model an adapter is applied to: its family and config.json numbers. */
export interface AdapterBase {
  family: string
  config: ModelConfig
}

/** A tensor of the adapter as its header gives it. */
export interface AdapterTensorShape {
  shape: readonly number[]
  dtype: Dtype
}

const show = (shape: readonly number[]): string => JSON.stringify(shape)

/** The rank of one module path: `rank_pattern` (PEFT matches a key that ends the module's path) or `r`. */
function rankOf(json: Record<string, unknown>, path: string): number {
  const pattern = json.rank_pattern
  if (typeof pattern === 'object' && pattern !== null) {
    for (const [k, v] of Object.entries(pattern as Record<string, unknown>)) {
      if (typeof v === 'number' && (path === k || path.endsWith(`.${k}`))) return v
    }
  }
  return json.r as number
}

/** The module names adapter_config.json targets (`'all-linear'`: every linear module of the base family). */
function targetsOf(json: Record<string, unknown>, base: AdapterBase | undefined): string[] | undefined {
  const t = json.target_modules
  if (t === 'all-linear') return base ? [...(familyInfo(base.family)?.linearModules ?? [])] : undefined
  if (Array.isArray(t)) return t.map(String)
  if (typeof t === 'string') return [t]
  return undefined
}

/**
 * Every problem of an adapter whose adapter_config.json parsed (`json`, with numeric `r`),
 * given the shapes of its tensors; with `base`, also against that model. Capped at MAX_LISTED.
 */
export function adapterIssues(dir: string, json: Record<string, unknown>, tensors: ReadonlyMap<string, AdapterTensorShape>, base?: AdapterBase): Issue[] {
  const configFile = join(dir, ADAPTER_CONFIG)
  const weightsFile = join(dir, ADAPTER_WEIGHTS)
  const malformed: Issue[] = []
  const mismatch: Issue[] = []
  const baseModel = typeof json.base_model_name_or_path === 'string' ? json.base_model_name_or_path : ''
  // Problems of one tensor name the weights file; problems of a config field name adapter_config.json.
  const bad = (path: string, reason: string, value?: unknown, file = configFile): void => void malformed.push(issue('MalformedAdapter', { path, ...(value !== undefined ? { value } : {}) }, file, reason))
  const misfit = (path: string, reason: string, value?: unknown, file = weightsFile): void =>
    void mismatch.push(issue('AdapterModelMismatch', { path, hintArgs: [baseModel], ...(value !== undefined ? { value } : {}) }, file, reason))
  const unknownKeys: string[] = []
  const family = base ? familyInfo(base.family) : undefined
  const targets = targetsOf(json, base)
  if (targets === undefined && json.target_modules !== 'all-linear') bad(`${configFile}: target_modules`, 'target_modules is missing', json.target_modules)
  const saved = Array.isArray(json.modules_to_save) ? json.modules_to_save.map(String) : []
  if (family && targets) {
    for (const m of targets) {
      if (!family.linearModules.includes(m)) {
        misfit(`${configFile}: target_modules`, `target_modules names ${JSON.stringify(m)}, which is not a module of the ${base!.family} model it is applied to (its modules: ${family.linearModules.join(', ')}); the adapter was made for another architecture`, m, configFile)
      }
    }
  }
  const layersOf = new Map<string, Set<number>>() // module → layers that have both matrices
  const dora = json.use_dora === true
  const magnitudes = new Set<string>() // `module.layer` of each DoRA magnitude vector
  const seenSaved = new Set<string>()
  const projectors = new Set<string>() // a vision-language model's projector modules with both matrices
  const projectorModules: readonly string[] = family?.vision?.projectorModules ?? []
  for (const [key, t] of tensors) {
    if (!isFloatDtype(t.dtype)) {
      malformed.push(issue('MalformedSafetensors', { path: key, value: t.dtype }, weightsFile, `adapter tensor ${JSON.stringify(key)} is ${t.dtype}, not a float type`))
      continue
    }
    const k = parseAdapterKey(key)
    if (!k) {
      unknownKeys.push(key)
      continue
    }
    if (k.kind === 'lora') {
      if (targets && !targets.includes(k.module)) bad(`${configFile}: target_modules`, `${ADAPTER_WEIGHTS} holds LoRA matrices for ${JSON.stringify(k.module)} but target_modules is ${JSON.stringify(targets)}`, json.target_modules)
      const r = rankOf(json, moduleWeightName(k.module, k.layer).replace(/\.weight$/, ''))
      const rankAt = k.matrix === 'lora_A' ? 0 : 1
      if (t.shape.length !== 2) bad(key, `${key} has shape ${show(t.shape)}; a LoRA matrix has two dimensions`, t.shape, weightsFile)
      else if (t.shape[rankAt] !== r) {
        bad(key, `${key} has shape ${show(t.shape)}: its rank (${k.matrix === 'lora_A' ? 'first' : 'second'} dimension) is ${t.shape[rankAt]} but adapter_config.json r is ${r}`, t.shape, weightsFile)
      }
      const other = key.replace(k.matrix, k.matrix === 'lora_A' ? 'lora_B' : 'lora_A')
      if (!tensors.has(other)) bad(key, `${key} has no ${k.matrix === 'lora_A' ? 'lora_B' : 'lora_A'} partner (${other})`, undefined, weightsFile)
      if (k.matrix === 'lora_A') layersOf.set(k.module, (layersOf.get(k.module) ?? new Set()).add(k.layer))
      if (base && family) {
        const c = base.config
        if (k.layer >= c.numHiddenLayers) {
          if (k.matrix === 'lora_A' || !tensors.has(other)) misfit(key, `${key.replace(/\.lora_[AB]\.weight$/, '')} is for layer ${k.layer} but the model has ${c.numHiddenLayers} layers (num_hidden_layers)`, k.layer)
        }
        else if (family.linearModules.includes(k.module) && t.shape.length === 2) {
          const [inF, outF] = family.linearShape(c, k.module)
          const want = k.matrix === 'lora_A' ? inF : outF
          const got = k.matrix === 'lora_A' ? t.shape[1] : t.shape[0]
          if (got !== want) misfit(key, `${key} has shape ${show(t.shape)} but the model's ${k.module} ${k.matrix === 'lora_A' ? 'takes' : 'gives'} ${want} features (hidden_size ${c.hiddenSize}, intermediate_size ${c.intermediateSize})`, t.shape)
        }
      }
    } else if (k.kind === 'projector') {
      if (targets && !targets.includes(k.module)) bad(`${configFile}: target_modules`, `${ADAPTER_WEIGHTS} holds LoRA matrices for ${JSON.stringify(k.module)} but target_modules is ${JSON.stringify(targets)}`, json.target_modules)
      const other = key.replace(`.${k.matrix}.`, k.matrix === 'lora_A' ? '.lora_B.' : '.lora_A.')
      if (!tensors.has(other)) bad(key, `${key} has no ${k.matrix === 'lora_A' ? 'lora_B' : 'lora_A'} partner (${other})`, undefined, weightsFile)
      else if (k.matrix === 'lora_A') projectors.add(k.module)
      if (base && family && t.shape.length === 2) {
        if (!projectorModules.includes(k.module)) misfit(key, `${key} adapts a projector module ${JSON.stringify(k.module)}, which the ${base.family} model it is applied to does not have (its projector's: ${projectorModules.join(', ') || 'none'})`, k.module)
        else {
          const [inF, outF] = family.linearShape(base.config, k.module)
          const want = k.matrix === 'lora_A' ? inF : outF
          const got = k.matrix === 'lora_A' ? t.shape[1] : t.shape[0]
          if (got !== want) misfit(key, `${key} has shape ${show(t.shape)} but the model's projector ${k.module} ${k.matrix === 'lora_A' ? 'takes' : 'gives'} ${want} features`, t.shape)
        }
      }
    } else if (k.kind === 'magnitude') {
      magnitudes.add(`${k.module}.${k.layer}`)
      if (t.shape.length !== 1) bad(key, `${key} has shape ${show(t.shape)}; a DoRA magnitude vector has one dimension (the module's output features)`, t.shape, weightsFile)
      else if (base && family?.linearModules.includes(k.module) && k.layer < base.config.numHiddenLayers) {
        const [, outF] = family.linearShape(base.config, k.module)
        if (t.shape[0] !== outF) misfit(key, `${key} has shape ${show(t.shape)} but the model's ${k.module} gives ${outF} features (hidden_size ${base.config.hiddenSize}, intermediate_size ${base.config.intermediateSize})`, t.shape)
      }
    } else if (k.kind === 'saved') {
      seenSaved.add(k.module)
      if (!saved.includes(k.module)) bad(`${configFile}: modules_to_save`, `${ADAPTER_WEIGHTS} holds a full copy of ${JSON.stringify(k.module)} but modules_to_save is ${JSON.stringify(json.modules_to_save ?? null)}`, json.modules_to_save)
      // (a vision-language model's projector saved whole is no embedding: transformers checks its shapes on load)
      if (k.module === 'score') {
        // the reward head, Linear(hidden, num_labels = 1)
        if (base && (t.shape.length !== 2 || t.shape[0] !== 1 || t.shape[1] !== base.config.hiddenSize)) misfit(key, `${key} has shape ${show(t.shape)} but the model's reward head score is [1, ${base.config.hiddenSize}] (num_labels, hidden_size)`, t.shape)
      } else if (base && k.module !== family?.vision?.projector && (t.shape.length !== 2 || t.shape[1] !== base.config.hiddenSize || t.shape[0]! < base.config.vocabSize)) {
        misfit(key, `${key} has shape ${show(t.shape)} but the model's ${k.module} is [${base.config.vocabSize} or more rows, ${base.config.hiddenSize}] (vocab_size, hidden_size)`, t.shape)
      }
    } else {
      const ids = json.trainable_token_indices
      // A plain list applies to the input embedding (and to a tied lm_head, as PEFT does).
      const byModule = typeof ids === 'object' && ids !== null && !Array.isArray(ids) ? (ids as Record<string, unknown>) : {}
      const list = Array.isArray(ids) ? ids : (byModule[k.module] ?? (k.module === 'lm_head' ? byModule.embed_tokens : undefined))
      if (!Array.isArray(list)) bad(`${configFile}: trainable_token_indices`, `${ADAPTER_WEIGHTS} holds trainable-token rows for ${JSON.stringify(k.module)} but trainable_token_indices names no ids for it`)
      else if (t.shape[0] !== list.length) bad(key, `${key} has ${t.shape[0]} rows but trainable_token_indices lists ${list.length} ids`, t.shape, weightsFile)
      if (base && t.shape[1] !== base.config.hiddenSize) misfit(key, `${key} has shape ${show(t.shape)} but the model's hidden_size is ${base.config.hiddenSize}`, t.shape)
    }
  }
  if (unknownKeys.length > 0) {
    const first = unknownKeys.slice(0, 3).map((k) => JSON.stringify(k)).join(', ')
    malformed.push(issue('MalformedAdapter', { path: unknownKeys[0]!, value: unknownKeys.length }, weightsFile,
      `${unknownKeys.length} tensor${unknownKeys.length === 1 ? ' is' : 's are'} not keys of a PEFT LoRA adapter of a llama-style decoder (${first}${unknownKeys.length > 3 ? ', …' : ''}); tunekit reads base_model.model.model.layers.<i>.<self_attn|mlp>.<module>.lora_A|lora_B.weight, DoRA's lora_magnitude_vector, saved modules and trainable tokens`))
  }
  doraIssues(weightsFile, dora, layersOf, magnitudes, malformed)
  for (const m of saved) if (!seenSaved.has(m)) bad(`${configFile}: modules_to_save`, `modules_to_save lists ${JSON.stringify(m)} but ${ADAPTER_WEIGHTS} holds no copy of it`, m)
  // Every target of the family gets matrices in every layer unless layers_to_transform narrows them.
  if (targets && (json.layers_to_transform === null || json.layers_to_transform === undefined)) {
    for (const m of targets) {
      if (family && !family.linearModules.includes(m)) continue
      // a projector module is one module, not one per layer; with the projector saved whole (modules_to_save), PEFT adapts it no further
      if (projectors.has(m)) continue
      if (projectorModules.includes(m)) {
        if (!seenSaved.has(family!.vision!.projector)) bad(`${configFile}: target_modules`, `target_modules lists ${JSON.stringify(m)} but ${ADAPTER_WEIGHTS} holds no LoRA matrices for it`, m)
        continue
      }
      const layers = layersOf.get(m)?.size ?? 0
      if (layers === 0) bad(`${configFile}: target_modules`, `target_modules lists ${JSON.stringify(m)} but ${ADAPTER_WEIGHTS} holds no LoRA matrices for it`, m)
      else if (base && layers < base.config.numHiddenLayers) bad(`${configFile}: target_modules`, `${ADAPTER_WEIGHTS} holds LoRA matrices of ${JSON.stringify(m)} for ${layers} of the model's ${base.config.numHiddenLayers} layers`, m)
    }
  }
  // The model mismatch first: it is usually the cause of the rest (an adapter of another architecture).
  return capIssues([...mismatch, ...malformed], 'problems with the adapter')
}

/** DoRA: a magnitude vector for every LoRA pair when use_dora is on (TK243), none when it is off (TK244). */
function doraIssues(weightsFile: string, dora: boolean, layersOf: ReadonlyMap<string, ReadonlySet<number>>, magnitudes: ReadonlySet<string>, out: Issue[]): void {
  const pairs = [...layersOf].flatMap(([m, layers]) => [...layers].sort((a, b) => a - b).map((l) => `${m}.${l}`))
  const name = (at: string): string => {
    const [module, layer] = at.split('.')
    return magnitudeKey(module!, Number(layer))
  }
  if (dora) {
    const missing = pairs.filter((p) => !magnitudes.has(p))
    if (missing.length > 0) out.push(issue('DoraMagnitudeMissing', { path: name(missing[0]!), value: missing.length }, weightsFile, missing.length, name(missing[0]!)))
  } else if (magnitudes.size > 0) {
    const first = name([...magnitudes][0]!)
    out.push(issue('DoraMagnitudeUnexpected', { path: first, value: magnitudes.size }, weightsFile, magnitudes.size, first))
  }
}

/**
 * Reads adapter_config.json and checks the fields tunekit needs (a LORA adapter, numeric r and
 * lora_alpha, target_modules); returns the object or throws MalformedAdapter naming the field.
 */
export function readAdapterConfigText(file: string, text: string): Record<string, unknown> {
  const fail = (path: string, reason: string, value?: unknown): never => {
    throw new TunekitError([issue('MalformedAdapter', { path, ...(value !== undefined ? { value } : {}) }, file, reason)])
  }
  const parsed = parseJsonText(text)
  if (!parsed.ok) return fail(file, `adapter_config.json is ${parsed.reason}`)
  const json = parsed.value
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail(file, 'adapter_config.json is not a JSON object', json)
  const j = json as Record<string, unknown>
  if (j.peft_type !== 'LORA') fail(`${file}: peft_type`, `peft_type is ${JSON.stringify(j.peft_type)}; tunekit reads LORA adapters (PEFT's LoraConfig), and IA3, PROMPT_TUNING, P_TUNING and PREFIX_TUNING ones for chat and generate`, j.peft_type)
  for (const key of ['r', 'lora_alpha']) {
    const v = j[key]
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (key === 'r' && !Number.isInteger(v))) fail(`${file}: ${key}`, `${key} is ${JSON.stringify(v)}; it must be a positive ${key === 'r' ? 'whole ' : ''}number`, v)
  }
  return j
}

/**
 * The problems of an adapter folder from its config and the safetensors header (no tensor is
 * read), against `base` when given. Missing files are MalformedAdapter.
 */
export function inspectAdapter(dir: string, base?: AdapterBase): Issue[] {
  const file = join(dir, ADAPTER_CONFIG)
  if (!existsSync(file)) return [issue('MalformedAdapter', { path: dir, value: dir }, file, `${dir} has no ${ADAPTER_CONFIG}, so it is not a PEFT adapter folder`)]
  try {
    const text = readFileSync(file, 'utf8')
    const weights = join(dir, ADAPTER_WEIGHTS)
    const parsed = parseJsonText(text)
    // IA³ and the prompt-learning methods have their own checks (peft-check.ts); any other peft_type is LoRA's to read or refuse
    const other = parsed.ok && existsSync(weights) && parsed.value !== null && typeof parsed.value === 'object' && !Array.isArray(parsed.value)
      ? otherPeftIssues(dir, parsed.value as Record<string, unknown>, readHeaderSync(weights).tensors, base)
      : undefined
    if (other) return other
    const json = readAdapterConfigText(file, text)
    if (!existsSync(weights)) return [issue('MalformedAdapter', { path: weights }, weights, `the adapter has no ${ADAPTER_WEIGHTS}`)]
    return adapterIssues(dir, json, readHeaderSync(weights).tensors, base)
  } catch (e) {
    if (isTunekitError(e)) return [...e.issues]
    throw e
  }
}

/** {@link inspectAdapter}, throwing every error at once. */
export function checkAdapter(dir: string, base?: AdapterBase): void {
  const errors = inspectAdapter(dir, base).filter((i) => i.severity === 'error')
  if (errors.length > 0) throw new TunekitError(errors)
}
