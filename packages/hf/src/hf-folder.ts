// Hugging Face model folders (what `save_pretrained` writes and `from_pretrained` reads):
// config.json, weights (see sharded.ts), tokenizer files, generation_config.json (metadata/).
import { decoderModuleGroup, fail, isTunekitError, modelConfigFromText, TunekitError, type Family, type FamilyInfo, type ModelConfig } from '@tunekit/core'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { bertWeightSpecs } from './bert-weights.ts'
import { visionModelWeightSpecs } from './vision-weights.ts'
import type { WeightSpec } from './weight-spec.ts'
import type { Dtype } from './dtypes.ts'
import { familyOf } from './family-of.ts'
import type { TensorSource } from './safetensors.ts'
import { writeModelMetadata, type ModelMetadata } from './metadata/write-model-metadata.ts'
import { writeModelWeights } from './sharded.ts'

/** What `readModelConfig` returns: the family, its planning numbers and the raw config.json. */
export interface ModelFolderConfig {
  family: Family
  config: ModelConfig
  /** config.json as parsed, for fields tunekit does not model. */
  json: Record<string, unknown>
}

/** Parses a config.json object with its family's reader; missing fields are a clear error. */
export function configFromJson(json: Record<string, unknown>, family: string, where: string): ModelConfig {
  const info = familyOf(family, where)
  try {
    return info.readConfig(json)
  } catch (e) {
    // The family's reader fails with BadModelConfig naming the field: keep it, located in `where`.
    if (!isTunekitError(e)) throw e
    throw new TunekitError(e.issues.map((i) => ({ ...i, path: `${where}: ${i.path}` })))
  }
}

/**
 * Reads `dir/config.json` into the family registry's ModelConfig (family from `model_type`), with
 * the plan's rules (core's `modelConfigFromText`): every problem is a catalog error naming the file.
 * With `recipeFamily` 'auto', any model_type transformers loads without remote code is read generically.
 */
export async function readModelConfig(dir: string, recipeFamily?: string): Promise<ModelFolderConfig> {
  const file = join(dir, 'config.json')
  const text = await readFile(file, 'utf8').catch(() => fail('ModelNotFound', { path: dir, hintArgs: [dir] }, dir, [file]))
  const read = modelConfigFromText(file, text, recipeFamily)
  if (!read.ok) throw new TunekitError(read.issues)
  return read.value
}

export type { WeightSpec } from './weight-spec.ts'

/**
 * The weights of a model in transformers' names and state-dict order (bert: bert-weights.ts).
 * A llama-style decoder's (llama, mistral, qwen2/3, gemma/2, phi-3): embeddings, then per layer attention (+ q/k/v biases when `attentionBias`, q/k norms when `qkNorm`), MLP and the two
 * norms, then the final norm and `lm_head` unless the embeddings are tied.
 */
export function modelWeightSpecs(family: string, config: ModelConfig): WeightSpec[] {
  const info = familyOf(family)
  if (info.kind === 'encoder') return bertWeightSpecs(config)
  if (info.vision) return visionModelWeightSpecs(config, decoderWeightSpecs(info, config))
  return decoderWeightSpecs(info, config)
}

/** A llama-style decoder's weights (the text model of a vision-language one too), in transformers' names. */
function decoderWeightSpecs(info: FamilyInfo, config: ModelConfig): WeightSpec[] {
  const c = config
  const linear = (name: string, module: string): WeightSpec => {
    const [inF, outF] = info.linearShape(c, module)
    return { name, shape: [outF, inF], init: 'normal' } // torch Linear stores [out, in]
  }
  // Gemma's norms apply (1 + w): transformers initialises w to 0
  const norm = c.gemma ? 'zeros' : 'ones'
  const specs: WeightSpec[] = [{ name: 'model.embed_tokens.weight', shape: [c.vocabSize, c.hiddenSize], init: 'normal' }]
  // the family's attention modules, then its MLP's (phi-3: o_proj, qkv_proj, gate_up_proj, down_proj)
  // a vision-language family's projector modules are not the decoder layers'
  const layerModules = info.linearModules.filter((m) => !info.vision?.projectorModules.includes(m))
  const attention = layerModules.filter((m) => decoderModuleGroup(m) === 'self_attn')
  const mlp = layerModules.filter((m) => decoderModuleGroup(m) === 'mlp')
  for (let i = 0; i < c.numHiddenLayers; i++) {
    const p = `model.layers.${i}`
    for (const m of attention) {
      specs.push(linear(`${p}.self_attn.${m}.weight`, m))
      if (c.attentionBias && m !== 'o_proj') specs.push({ name: `${p}.self_attn.${m}.bias`, shape: [info.linearShape(c, m)[1]], init: 'zeros' })
    }
    if (c.qkNorm) for (const m of ['q_norm', 'k_norm']) specs.push({ name: `${p}.self_attn.${m}.weight`, shape: [c.headDim], init: norm })
    for (const m of mlp) specs.push(linear(`${p}.mlp.${m}.weight`, m))
    // Mixtral, as save_pretrained writes it (transformers 5 fuses the experts only in memory): the router, then each expert's w1, w2, w3
    if (c.moe) {
      specs.push(linear(`${p}.block_sparse_moe.gate.weight`, 'gate'))
      for (let e = 0; e < c.moe.numExperts; e++) for (const m of ['w1', 'w2', 'w3']) specs.push(linear(`${p}.block_sparse_moe.experts.${e}.${m}.weight`, m))
    }
    specs.push({ name: `${p}.input_layernorm.weight`, shape: [c.hiddenSize], init: norm })
    specs.push({ name: `${p}.post_attention_layernorm.weight`, shape: [c.hiddenSize], init: norm })
    if (c.gemma2) for (const n of ['pre_feedforward_layernorm', 'post_feedforward_layernorm']) specs.push({ name: `${p}.${n}.weight`, shape: [c.hiddenSize], init: norm })
  }
  specs.push({ name: 'model.norm.weight', shape: [c.hiddenSize], init: norm })
  if (!c.tieWordEmbeddings) specs.push({ name: 'lm_head.weight', shape: [c.vocabSize, c.hiddenSize], init: 'normal' })
  return specs
}

/** Transformers' name of the weight of module `module` in layer `layer` (`embed_tokens` / `lm_head`: no layer). */
export function moduleWeightName(module: string, layer?: number): string {
  if (module === 'embed_tokens') return 'model.embed_tokens.weight'
  if (module === 'lm_head') return 'lm_head.weight'
  if (module === 'score') return 'score.weight' // *ForSequenceClassification's head (the rm stage)
  return `model.layers.${layer ?? 0}.${decoderModuleGroup(module)}.${module}.weight`
}

export interface ModelFolderContents extends Omit<ModelMetadata, 'dtype'> {
  /** Weights in the order to write them (transformers' names). */
  tensors: Iterable<readonly [string, TensorSource]>
  /** Shard limit, e.g. `'5GB'` or bytes. @defaultValue '5GB' */
  maxShardSize?: string | number
  /** Storage type of float weights. @defaultValue 'F32' */
  floatDtype?: Extract<Dtype, 'F32' | 'F16' | 'BF16'>
}

/** Writes a complete Hugging Face model folder (weights, then metadata/); every file is written atomically. */
export async function writeModelFolder(dir: string, contents: ModelFolderContents): Promise<void> {
  familyOf(contents.family)
  const floatDtype = contents.floatDtype ?? 'F32'
  await writeModelWeights(dir, contents.tensors, { maxShardSize: contents.maxShardSize, floatDtype })
  const { tensors: _t, maxShardSize: _s, floatDtype: _d, ...metadata } = contents
  await writeModelMetadata(dir, { ...metadata, dtype: floatDtype })
}
