import { randomConfigJson } from '../families/random-config.ts'
import { readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { issue, type Issue } from '../errors/tunekit-error.ts'
import { knownCheckpoints } from '../families/checkpoints.ts'
import { modelConfigFromText } from '../families/model-config.ts'
import { familyInfo } from '../families/index.ts'
import type { FamilyInfo, ModelConfig } from '../families/types.ts'
import type { GraphNode } from '../graph/types.ts'
import { countTrainable, type MethodKind, type MethodOptions } from '../methods/index.ts'
import type { VisionTraining } from '../schema/model.ts'

/** The model numbers the planner works from, and where they came from. */
export interface ModelSize {
  id: string
  family: string
  /** `config.json` of a local folder, `known` checkpoint table, or `random` (known config + overrides). */
  source: 'config.json' | 'known' | 'random'
  config: ModelConfig
  /** The model folder whose config.json gave the numbers (source `config.json`). */
  dir?: string
}

/** The model part of the train node's params (the recipe's `model` group, as JSON). */
export interface ModelParams {
  id: string
  family: string
  dtype: 'auto' | 'float32' | 'float16' | 'bfloat16'
  quantize?: { bits: 4 | 8; type: 'nf4' | 'fp4' | 'int8'; doubleQuant: boolean; computeDtype: string; blockSize: number }
  random?: { seed: number; config: Record<string, number | boolean | string | null | readonly number[]>; tokenizer: string }
  gradientCheckpointing: boolean
}

/**
 * Config numbers for planning, without loading weights: a local config.json when the model node
 * found one, else the known checkpoint's numbers with `model.random.config` overrides applied.
 * Returns the reason when neither is available.
 */
export function resolveModelSize(modelNode: GraphNode, model: ModelParams): ModelSize | { reason: string } {
  return modelSizeAndIssues(modelNode, model).size
}

/**
 * {@link resolveModelSize}, with the problems of a local config.json as catalog issues: errors
 * (not JSON, unknown model_type, missing or inconsistent fields) and warnings (model.family
 * differs from the checkpoint's model_type).
 */
export function modelSizeAndIssues(modelNode: GraphNode, model: ModelParams): { size: ModelSize | { reason: string }; issues: Issue[] } {
  const family = familyInfo(model.family)
  if (!family) return { size: { reason: `unknown family ${model.family}` }, issues: [] }
  const known = knownCheckpoints[model.id]
  if (model.random) {
    const base: Record<string, unknown> = known ? family.writeConfig(known.config) : {}
    try {
      return { size: { id: model.id, family: family.name, source: 'random', config: family.readConfig(randomConfigJson(base, model.random.config)) }, issues: [] }
    } catch (e) {
      return { size: { reason: `model.random.config of an unknown checkpoint lacks a field: ${firstLine(e)}` }, issues: [] }
    }
  }
  const configRead = modelNode.reads.find((r) => r.path.endsWith('config.json') && !r.path.endsWith('tokenizer_config.json'))
  if (configRead && configRead.hash !== 'missing') {
    let text: string
    try {
      text = readFileSync(configRead.path, 'utf8')
    } catch (e) {
      const reason = `config.json cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`
      return { size: { reason: `${configRead.path}: ${reason}` }, issues: [issue('MalformedModelConfig', { path: configRead.path }, configRead.path, reason)] }
    }
    const read = modelConfigFromText(configRead.path, text, model.family)
    if (!read.ok) return { size: { reason: `${configRead.path} cannot be used (listed under problems)` }, issues: read.issues }
    const size: ModelSize = { id: model.id, family: read.value.family, source: 'config.json', config: read.value.config, dir: dirname(configRead.path) }
    return { size, issues: read.warnings }
  }
  if (known) return { size: { id: model.id, family: family.name, source: 'known', config: known.config }, issues: [] }
  return { size: { reason: `${model.id} is neither on this machine nor a checkpoint tunekit knows; give model.path or run once with the weights present` }, issues: [] }
}

// A TunekitError's message starts with its title; the first issue line says what happened.
const firstLine = (e: unknown): string => {
  const text = (e as Error).message
  return text.split('\n').find((l) => l.startsWith('✖'))?.replace(/^✖ /, '') ?? text
}

/** Parameter counts of a run (PEFT's `print_trainable_parameters` counts). */
export interface ParamCounts {
  /** The training method's kind (`lora`, `full`, `freeze`). */
  method: MethodKind
  /** Base model, with the embedding rows of added tokens. */
  base: number
  /** Linear weights of the decoder layers (what 4-/8-bit quantisation stores packed). */
  linear: number
  /** LoRA's A and B matrices (0 for other methods). */
  lora: number
  /** DoRA's magnitude vectors, one `[out]` per adapted module (0 without `lora.useDora`). */
  doraMagnitudes: number
  modulesToSave: number
  trainableTokens: number
  trainable: number
  /** Values the train artifact holds where that is not `trainable` (LoftQ's replaced base, P-tuning's and projected prefix tuning's saved prompt). */
  artifact?: number
  /** The trained tensors are the base's own (full, freeze): not counted twice in `total`. */
  trainedInBase: boolean
  /** base + trainable for LoRA (PEFT keeps the original of a saved module beside its trainable copy); base otherwise. */
  total: number
  addedTokens: number
}

export function addedTokenCount(tokens: { chatml: boolean; add: readonly string[] }): number {
  return (tokens.chatml ? 2 : 0) + tokens.add.length
}

/**
 * Counts parameters from the family registry and the method's own count (`methods/<kind>.ts`).
 * Added tokens grow the vocabulary (resize_token_embeddings); `vision` is the recipe's `model.vision`.
 */
export function countParams(family: FamilyInfo, config: ModelConfig, method: MethodOptions, addedTokens: number, vision?: VisionTraining): ParamCounts {
  const c: ModelConfig = { ...config, vocabSize: config.vocabSize + addedTokens }
  const linear = c.numHiddenLayers * family.linearModules.reduce((sum, m) => sum + family.moduleParams(c, m), 0)
  const base = family.totalParams(c)
  const counted = countTrainable(method, { family, config: c, addedTokens, vision })
  const part = (name: string): number => counted.parts[name] ?? 0
  return {
    method: method.kind, base, linear, lora: part('lora'), doraMagnitudes: part('doraMagnitudes'), modulesToSave: part('modulesToSave'), trainableTokens: part('trainableTokens'),
    trainable: counted.trainable, ...(counted.artifact !== undefined ? { artifact: counted.artifact } : {}), trainedInBase: counted.inBase, total: counted.inBase ? base : base + counted.trainable, addedTokens,
  }
}
