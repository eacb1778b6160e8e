import { readFileSync } from 'node:fs'
import { knownCheckpoints } from '../families/checkpoints.ts'
import { familyInfo } from '../families/index.ts'
import type { FamilyInfo, ModelConfig } from '../families/types.ts'
import type { GraphNode } from '../graph/types.ts'
import { countTrainable, type MethodKind, type MethodOptions } from '../methods/index.ts'

/** The model numbers the planner works from, and where they came from. */
export interface ModelSize {
  id: string
  family: string
  /** `config.json` of a local folder, `known` checkpoint table, or `random` (known config + overrides). */
  source: 'config.json' | 'known' | 'random'
  config: ModelConfig
}

/** The model part of the train node's params (the recipe's `model` group, as JSON). */
export interface ModelParams {
  id: string
  family: string
  dtype: 'auto' | 'float32' | 'float16' | 'bfloat16'
  quantize?: { bits: 4 | 8; type: 'nf4' | 'fp4' | 'int8'; doubleQuant: boolean; computeDtype: string; blockSize: number }
  random?: { seed: number; config: Record<string, number | boolean | string | null>; tokenizer: string }
  gradientCheckpointing: boolean
}

/**
 * Config numbers for planning, without loading weights: a local config.json when the model node
 * found one, else the known checkpoint's numbers with `model.random.config` overrides applied.
 * Returns `null` (with the reason) when neither is available.
 */
export function resolveModelSize(modelNode: GraphNode, model: ModelParams): ModelSize | { reason: string } {
  const family = familyInfo(model.family)
  if (!family) return { reason: `unknown family ${model.family}` }
  const known = knownCheckpoints[model.id]
  if (model.random) {
    const base: Record<string, unknown> = known ? family.writeConfig(known.config) : {}
    // A new width or head count gives a new head_dim unless one is given (as the model node does).
    const o = model.random.config
    if (('hidden_size' in o || 'num_attention_heads' in o) && !('head_dim' in o)) delete base.head_dim
    try {
      return { id: model.id, family: family.name, source: 'random', config: family.readConfig({ ...base, ...model.random.config }) }
    } catch (e) {
      return { reason: `model.random.config of an unknown checkpoint lacks a field: ${(e as Error).message}` }
    }
  }
  const configRead = modelNode.reads.find((r) => r.path.endsWith('config.json') && !r.path.endsWith('tokenizer_config.json'))
  if (configRead && configRead.hash !== 'missing') {
    try {
      const json = JSON.parse(readFileSync(configRead.path, 'utf8')) as Record<string, unknown>
      return { id: model.id, family: family.name, source: 'config.json', config: family.readConfig(json) }
    } catch (e) {
      return { reason: `${configRead.path} cannot be read: ${(e as Error).message}` }
    }
  }
  if (known) return { id: model.id, family: family.name, source: 'known', config: known.config }
  return { reason: `${model.id} is neither on this machine nor a checkpoint tunekit knows; give model.path or run once with the weights present` }
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
  modulesToSave: number
  trainableTokens: number
  trainable: number
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
 * Added tokens grow the vocabulary (resize_token_embeddings).
 */
export function countParams(family: FamilyInfo, config: ModelConfig, method: MethodOptions, addedTokens: number): ParamCounts {
  const c: ModelConfig = { ...config, vocabSize: config.vocabSize + addedTokens }
  const linear = c.numHiddenLayers * family.linearModules.reduce((sum, m) => sum + family.moduleParams(c, m), 0)
  const base = family.totalParams(c)
  const counted = countTrainable(method, { family, config: c, addedTokens })
  const part = (name: string): number => counted.parts[name] ?? 0
  return {
    method: method.kind, base, linear, lora: part('lora'), modulesToSave: part('modulesToSave'), trainableTokens: part('trainableTokens'),
    trainable: counted.trainable, trainedInBase: counted.inBase, total: counted.inBase ? base : base + counted.trainable, addedTokens,
  }
}
