// Checks of a model folder that need no compute: config.json (core's reader), every weight's
// shape and dtype from the safetensors headers against what config.json implies, and the
// tokenizer files. The planner calls `inspectModelFolder` (sync, headers only); the model node
// and the loaders call `checkModelFolder`, so a run that skipped the plan fails the same way.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { issue, isTunekitError, modelConfigFromText, parseJsonText, TunekitError, type FolderConfig, type Issue, type ModelConfig } from '@tunekit/core'
import { isFloatDtype, type Dtype } from './dtypes.ts'
import { familyOf } from './family-of.ts'
import { modelWeightSpecs } from './hf-folder.ts'
import type { WeightSpec } from './weight-spec.ts'
import type { FloatTensor } from './safetensors.ts'
import { freshWeight, storedWeightName } from './weight-spec.ts'
import { readWeightHeadersSync } from './sharded.ts'

/** Most problems listed for one folder: a config for another model size gets one line per layer otherwise. */
export const MAX_LISTED = 10

/** What the checks need of a weight: its shape, dtype and the file that holds it. */
export interface WeightShape {
  shape: readonly number[]
  dtype: Dtype
  file: string
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i])

/** Why config.json needs a weight, for the MissingWeight message. */
function whyNeeded(name: string, config: ModelConfig): string {
  if (name === 'lm_head.weight') return ' (tie_word_embeddings is false, so the output layer has its own weight)'
  if (name.endsWith('.bias')) return ' (attention_bias is true)'
  if (name.startsWith('model.layers.')) return ` (num_hidden_layers is ${config.numHiddenLayers})`
  return ''
}

/** Keeps the first {@link MAX_LISTED} issues; the last one kept says how many more there were. */
export function capIssues(issues: readonly Issue[], what: string): Issue[] {
  if (issues.length <= MAX_LISTED) return [...issues]
  const kept = issues.slice(0, MAX_LISTED)
  const last = kept[MAX_LISTED - 1]!
  kept[MAX_LISTED - 1] = { ...last, message: `${last.message} (and ${issues.length - MAX_LISTED} more ${what}; only the first ${MAX_LISTED} are listed)` }
  return kept
}

/**
 * Every weight config.json implies, checked against the weights found: missing tensors, wrong
 * shapes (expected and found), non-float dtypes; tensors config.json does not describe are one
 * warning (transformers ignores them too). Errors are capped at {@link MAX_LISTED}.
 */
export function weightIssues(dir: string, model: { family: string; config: ModelConfig }, weights: ReadonlyMap<string, WeightShape>): Issue[] {
  // family 'auto': no layout to hold the weights to (their names are the modules), only their types
  if (familyOf(model.family).probed) return capIssues(floatIssues(weights), 'problems with the weights')
  // A merged reward model (the rm stage's *ForSequenceClassification) holds the head score [1, hidden] in place of lm_head.
  const reward = weights.has('score.weight')
  const specs: WeightSpec[] = [
    ...modelWeightSpecs(model.family, model.config).filter((spec) => !(reward && spec.name === 'lm_head.weight')),
    ...(reward ? [{ name: 'score.weight', shape: [1, model.config.hiddenSize], init: 'normal' as const }] : []),
  ]
  const errors: Issue[] = []
  const fresh: string[] = []
  const stored = new Set<string>()
  for (const spec of specs) {
    const name = storedWeightName(spec, weights)
    const found = name === undefined ? undefined : weights.get(name)
    if (name !== undefined) stored.add(name)
    if (!found && spec.fresh) {
      fresh.push(spec.name)
    } else if (!found) {
      errors.push(issue('MissingWeight', { path: spec.name, hintArgs: [spec.name] }, spec.name, dir, whyNeeded(spec.name, model.config)))
    } else if (!sameShape(found.shape, spec.shape)) {
      errors.push(issue('WeightShapeMismatch', { path: spec.name, value: found.shape }, spec.name, found.file, spec.shape, found.shape))
    } else if (!isFloatDtype(found.dtype)) {
      errors.push(issue('MalformedSafetensors', { path: spec.name, value: found.dtype }, found.file, `weight ${JSON.stringify(spec.name)} is ${found.dtype}; model weights are F32, F16, BF16 or F64`))
    }
  }
  // Harmless extras: rotary tables older checkpoints saved, lm_head stored beside tied embeddings,
  // and what a pretrained encoder carries beside the encoder (pooler, the MLM / NSP heads `cls.*`).
  const harmless = (n: string): boolean =>
    n.endsWith('rotary_emb.inv_freq') || (model.config.tieWordEmbeddings && n === 'lm_head.weight') || (model.config.encoder !== undefined && (n.startsWith('cls.') || /^(bert\.)?pooler\./.test(n)))
  const extra = [...weights.keys()].filter((n) => !stored.has(n) && !harmless(n))
  const warnings = extra.length > 0 ? [issue('UnexpectedWeight', { path: dir, value: extra.slice(0, 3), severity: 'warning' }, dir, extra.length, extra.slice(0, 3))] : []
  if (fresh.length > 0) warnings.push(issue('NewHeadWeights', { path: dir, value: fresh, severity: 'warning' }, dir, fresh, familyOf(model.family).architecture))
  return [...capIssues(errors, 'problems with the weights'), ...warnings]
}

/** Every weight that is not a float type, for a folder with no layout to check (family 'auto'). */
function floatIssues(weights: ReadonlyMap<string, WeightShape>): Issue[] {
  return [...weights].filter(([, w]) => !isFloatDtype(w.dtype)).map(([name, w]) =>
    issue('MalformedSafetensors', { path: name, value: w.dtype }, w.file, `weight ${JSON.stringify(name)} is ${w.dtype}; model weights are F32, F16, BF16 or F64`))
}

/** A folder's weight names and shapes from its safetensors headers (what plan's family 'auto' counts from). */
export function readWeightShapes(dir: string): Map<string, readonly number[]> {
  return new Map([...readWeightHeadersSync(dir)].map(([name, w]) => [name, w.shape]))
}

/** Token ids a parsed tokenizer.json can produce: its vocabulary plus added tokens (highest id + 1). */
export function tokenizerIdCount(json: { model?: { vocab?: unknown }; added_tokens?: Array<{ id?: unknown }> }): number {
  const vocab = json.model?.vocab
  let size = Array.isArray(vocab) ? vocab.length : vocab && typeof vocab === 'object' ? Math.max(-1, ...Object.values(vocab as Record<string, number>)) + 1 : 0
  for (const t of json.added_tokens ?? []) if (typeof t.id === 'number') size = Math.max(size, t.id + 1)
  return size
}

/**
 * The tokenizer files of a folder: tokenizer.json parses (the position of the first error
 * otherwise), has a vocabulary, and produces no id beyond the embedding (`vocab_size`).
 * tokenizer_config.json, when present, parses. A folder without tokenizer.json gives no issue
 * here: the tokenize node names the missing file.
 */
export function tokenizerIssues(dir: string, config?: ModelConfig): Issue[] {
  const file = join(dir, 'tokenizer.json')
  const issues: Issue[] = []
  if (existsSync(file)) {
    const parsed = parseJsonText(readFileSync(file, 'utf8'))
    const json = parsed.ok ? (parsed.value as { model?: { vocab?: unknown } } | null) : null
    if (!parsed.ok) issues.push(issue('MalformedTokenizer', { path: file }, file, `tokenizer.json is ${parsed.reason}`))
    else if (typeof json?.model?.vocab !== 'object' || json.model.vocab === null) issues.push(issue('MalformedTokenizer', { path: `${file}: model.vocab` }, file, 'tokenizer.json has no "model.vocab", so it holds no vocabulary'))
    else if (config) {
      const ids = tokenizerIdCount(json)
      if (ids > config.vocabSize) {
        issues.push(issue('MalformedTokenizer', { path: `${file}: model.vocab`, value: ids }, file, `tokenizer.json produces ${ids} token ids but config.json's vocab_size is ${config.vocabSize}, so ids from ${config.vocabSize} on have no embedding row`))
      }
    }
  }
  const configFile = join(dir, 'tokenizer_config.json')
  if (existsSync(configFile)) {
    const parsed = parseJsonText(readFileSync(configFile, 'utf8'))
    if (!parsed.ok) issues.push(issue('MalformedTokenizer', { path: configFile }, configFile, `tokenizer_config.json is ${parsed.reason}`))
  }
  return issues
}

/** The catalog issues of a TunekitError, or the error again when it is a bug. */
const issuesOf = (e: unknown): Issue[] => {
  if (isTunekitError(e)) return [...e.issues]
  throw e
}

/**
 * What the planner asks of a model folder whose config.json it has read (a `ModelInspector`):
 * the weights' headers against the config, and the tokenizer files. Reads headers only.
 */
export function inspectModelFolder(dir: string, model: { family: string; config: ModelConfig }): Issue[] {
  let weights: ReadonlyMap<string, WeightShape>
  try {
    weights = readWeightHeadersSync(dir)
  } catch (e) {
    // No weight file at all (config.json downloaded alone, to plan) is a warning for the plan;
    // the model node (checkModelFolder) makes it an error.
    const found = issuesOf(e).map((i) => (i.name === 'ModelNotFound' ? { ...i, severity: 'warning' as const } : i))
    return [...found, ...tokenizerIssues(dir, model.config)]
  }
  return [...weightIssues(dir, model, weights), ...tokenizerIssues(dir, model.config)]
}

/**
 * Reads a folder's config.json and runs {@link inspectModelFolder}: the checks of the plan, for
 * the model node and the loaders. Throws every error at once; returns the config and the warnings.
 */
export function checkModelFolder(dir: string, recipeFamily?: string): { folder: FolderConfig; warnings: Issue[] } {
  const file = join(dir, 'config.json')
  if (!existsSync(file)) throw new TunekitError([issue('ModelNotFound', { path: dir, hintArgs: [dir] }, dir, [file])])
  const read = modelConfigFromText(file, readFileSync(file, 'utf8'), recipeFamily)
  if (!read.ok) throw new TunekitError(read.issues)
  const found = inspectModelFolder(dir, read.value).map((i) => (i.name === 'ModelNotFound' ? { ...i, severity: 'error' as const } : i))
  const errors = found.filter((i) => i.severity === 'error')
  if (errors.length > 0) throw new TunekitError(errors)
  return { folder: read.value, warnings: [...read.warnings, ...found.filter((i) => i.severity === 'warning')] }
}

/**
 * The weights of a folder against its config.json, for loaders that read the config already
 * (tfjs): throws every error (missing weights, wrong shapes) before a tensor is allocated.
 */
export function checkWeights(dir: string, model: { family: string; config: ModelConfig }): void {
  const errors = weightIssues(dir, model, readWeightHeadersSync(dir)).filter((i) => i.severity === 'error')
  if (errors.length > 0) throw new TunekitError(errors)
}

/**
 * The fresh head of a folder whose checkpoint lacks it (a pretrained encoder without `qa_outputs`),
 * drawn as {@link freshWeight} draws it: what the torch worker loads so that it starts from the
 * tfjs loader's head. Empty when the folder holds every weight. Reads headers only.
 */
export function freshHeadTensors(dir: string, model: { family: string; config: ModelConfig }, seed: number): Map<string, FloatTensor> {
  const stored = readWeightHeadersSync(dir)
  const std = model.config.encoder?.initializerRange ?? 0.02
  const missing = modelWeightSpecs(model.family, model.config).filter((s) => s.fresh && storedWeightName(s, stored) === undefined)
  return new Map(missing.map((s) => [s.name, freshWeight(s, std, seed)]))
}
