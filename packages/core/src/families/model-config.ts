// Reading a model folder's config.json into the family registry's ModelConfig, with every
// problem as a catalog issue naming the file: the one rule shared by `plan` (core, sync) and the
// loaders of @tunekit/hf (the model node, tfjs, torch's initial adapter).
import { issue, isTunekitError, type Issue } from '../errors/tunekit-error.ts'
import { parseJsonText } from '../fs/json-text.ts'
import { familyInfo, familyModelType, familyNames, type Family } from './index.ts'
import { remoteCodeIssue } from './remote-code.ts'
import type { ModelConfig } from './types.ts'

/** config.json read: the family (its `model_type`), the planning numbers and the raw object. */
export interface FolderConfig {
  family: Family
  config: ModelConfig
  json: Record<string, unknown>
}

/** A config.json read, or the errors that stop it; `warnings` do not stop it. */
export type FolderConfigRead = { ok: true; value: FolderConfig; warnings: Issue[] } | { ok: false; issues: Issue[] }

// Whole positive numbers a decoder needs; a 0 or 2.5 here would surface later as a tensor error.
const COUNTS = ['vocabSize', 'hiddenSize', 'intermediateSize', 'numHiddenLayers', 'numAttentionHeads', 'numKeyValueHeads'] as const
const JSON_NAMES: Record<(typeof COUNTS)[number], string> = {
  vocabSize: 'vocab_size', hiddenSize: 'hidden_size', intermediateSize: 'intermediate_size', numHiddenLayers: 'num_hidden_layers',
  numAttentionHeads: 'num_attention_heads', numKeyValueHeads: 'num_key_value_heads',
}

/** Checks the numbers against each other: counts are whole and positive, heads divide evenly, rotary heads are even. */
function configProblems(c: ModelConfig, rotary: boolean): Array<{ key: string; value: unknown; reason: string }> {
  const out: Array<{ key: string; value: unknown; reason: string }> = []
  for (const k of COUNTS) {
    if (!Number.isSafeInteger(c[k]) || c[k] <= 0) out.push({ key: JSON_NAMES[k], value: c[k], reason: `${JSON_NAMES[k]} is ${c[k]}, not a positive whole number` })
  }
  if (out.length > 0) return out
  if (!Number.isSafeInteger(c.headDim) || c.headDim <= 0) {
    out.push({ key: 'head_dim', value: c.headDim, reason: `head_dim is ${c.headDim} (hidden_size ${c.hiddenSize} / num_attention_heads ${c.numAttentionHeads} unless given), not a positive whole number` })
  }
  else if (rotary && c.encoder === undefined && c.headDim % 2 !== 0) out.push({ key: 'head_dim', value: c.headDim, reason: `head_dim is ${c.headDim}, odd; rotary embeddings need an even width` })
  if (c.numAttentionHeads % c.numKeyValueHeads !== 0) {
    out.push({ key: 'num_key_value_heads', value: c.numKeyValueHeads, reason: `num_attention_heads ${c.numAttentionHeads} is not a multiple of num_key_value_heads ${c.numKeyValueHeads}` })
  }
  return out
}

/**
 * Reads config.json text: valid JSON, a `model_type` tunekit knows, the fields its family needs,
 * numbers that agree with each other. With `recipeFamily`, a checkpoint of another family is a
 * FamilyMismatch warning (the checkpoint's own `model_type` is what gets loaded).
 */
export function modelConfigFromText(file: string, text: string, recipeFamily?: string): FolderConfigRead {
  const parsed = parseJsonText(text)
  if (!parsed.ok) return { ok: false, issues: [issue('MalformedModelConfig', { path: file }, file, `config.json is ${parsed.reason}`)] }
  const json = parsed.value
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, issues: [issue('MalformedModelConfig', { path: file, value: json }, file, 'config.json is not a JSON object')] }
  }
  const record = json as Record<string, unknown>
  const modelType = record.model_type
  if (modelType === undefined) {
    return { ok: false, issues: [issue('MalformedModelConfig', { path: `${file}: model_type` }, file, 'config.json has no "model_type", which names the architecture to load')] }
  }
  // family 'auto' reads any model_type generically (transformers' AutoModelForCausalLM loads it); remote code stays refused
  const auto = recipeFamily === 'auto'
  const info = auto ? familyInfo('auto') : typeof modelType === 'string' ? familyInfo(modelType) : undefined
  const remote = !info || auto ? remoteCodeIssue(file, record) : undefined
  if (!info || remote) {
    return { ok: false, issues: [remote ?? issue('UnsupportedModelType', { path: `${file}: model_type`, value: modelType }, file, modelType, familyNames.filter((f) => f !== 'auto'))] }
  }
  const warnings: Issue[] = []
  // an alias family (yi) names checkpoints of another model_type (llama): no mismatch
  const recipeInfo = recipeFamily === undefined ? undefined : familyInfo(recipeFamily)
  if (recipeFamily !== undefined && !auto && recipeFamily !== info.name && (recipeInfo === undefined || familyModelType(recipeInfo) !== info.name)) {
    warnings.push(issue('FamilyMismatch', { path: 'model.family', value: recipeFamily, severity: 'warning', hintArgs: [info.name] }, recipeFamily, info.name, file))
  }
  let config: ModelConfig
  try {
    config = info.readConfig(record)
  } catch (e) {
    if (!isTunekitError(e)) throw e
    return { ok: false, issues: e.issues.map((i) => ({ ...i, path: `${file}: ${i.path}` })) }
  }
  // an 'auto' architecture may have no rotary embeddings (opt's learned positions): no even head_dim needed
  const problems = configProblems(config, !info.probed)
  if (problems.length > 0) {
    return { ok: false, issues: problems.map((p) => issue('MalformedModelConfig', { path: `${file}: ${p.key}`, value: p.value }, file, p.reason)) }
  }
  return { ok: true, value: { family: info.name as Family, config, json: record }, warnings }
}
