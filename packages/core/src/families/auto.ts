// `family: 'auto'` (torch backend only): any decoder transformers loads without remote code
// (AutoModelForCausalLM), its module names and shapes read from the model folder itself (the
// safetensors headers' weight names) rather than from a registry entry. The registry holds a
// placeholder that knows no module; `probedFamily` builds the real entry from a folder's weights.
import { fail } from '../errors/tunekit-error.ts'
import type { FamilyInfo, ModelConfig } from './types.ts'

/** A folder's weights: name → shape, as the safetensors headers give them. */
export type WeightShapes = ReadonlyMap<string, readonly number[]>

/** config.json keys of the same number under the names architectures use (gpt2's `n_embd`, opt's `ffn_dim`). */
const ALIASES = {
  vocab_size: ['vocab_size', 'padded_vocab_size'],
  hidden_size: ['hidden_size', 'n_embd', 'd_model', 'dim'],
  num_hidden_layers: ['num_hidden_layers', 'n_layer', 'num_layers', 'n_layers'],
  num_attention_heads: ['num_attention_heads', 'n_head', 'num_heads', 'n_heads'],
} as const

function readAutoConfig(json: Record<string, unknown>): ModelConfig {
  const modelType = String(json.model_type)
  const pick = (keys: readonly string[]): number | undefined => {
    for (const k of keys) if (typeof json[k] === 'number') return json[k]
    return undefined
  }
  const need = (field: keyof typeof ALIASES): number => pick(ALIASES[field]) ?? fail('BadModelConfig', { path: field }, field, `${modelType} (family 'auto')`)
  const hidden = need('hidden_size')
  const heads = need('num_attention_heads')
  const eos = json.eos_token_id
  return {
    modelType,
    vocabSize: need('vocab_size'),
    hiddenSize: hidden,
    // the planner's activation estimate only: the weights give the real widths
    intermediateSize: pick(['intermediate_size', 'ffn_dim', 'n_inner', 'ffn_hidden_size']) ?? 4 * hidden,
    numHiddenLayers: need('num_hidden_layers'),
    numAttentionHeads: heads,
    numKeyValueHeads: pick(['num_key_value_heads', 'n_head_kv', 'num_kv_heads']) ?? heads,
    headDim: pick(['head_dim']) ?? hidden / heads,
    maxPositionEmbeddings: pick(['max_position_embeddings', 'n_positions', 'n_ctx', 'seq_length']) ?? 2048,
    rmsNormEps: pick(['rms_norm_eps', 'layer_norm_eps', 'layer_norm_epsilon']) ?? 1e-5,
    ropeTheta: pick(['rope_theta', 'rotary_emb_base']) ?? 10000,
    // PretrainedConfig's default is tied; architectures that untie say so in config.json (gpt_neox does)
    tieWordEmbeddings: json.tie_word_embeddings !== false,
    slidingWindow: null,
    attentionBias: false,
    bosTokenId: typeof json.bos_token_id === 'number' ? json.bos_token_id : null,
    eosTokenId: typeof eos === 'number' ? eos : Array.isArray(eos) && typeof eos[0] === 'number' ? eos[0] : null,
  }
}

/** What `family: 'auto'` writes into config.json itself: only what training changes (the rest is the base's, kept as it is). */
function writeAutoConfig(c: ModelConfig): Record<string, unknown> {
  return {
    vocab_size: c.vocabSize,
    tie_word_embeddings: c.tieWordEmbeddings,
    ...(c.bosTokenId !== null ? { bos_token_id: c.bosTokenId } : {}),
    ...(c.eosTokenId !== null ? { eos_token_id: c.eosTokenId } : {}),
  }
}

const unprobed = (what: string): never => {
  throw new Error(`family 'auto' has no ${what} before its folder is probed (probedFamily)`)
}

/** The registry's placeholder: config.json read generically, no module known until the folder's weights are read. */
export const autoFamily: FamilyInfo<string, string> = {
  name: 'auto',
  kind: 'decoder',
  architecture: 'AutoModelForCausalLM',
  probed: true,
  // no table of this architecture's chat format: the checkpoint's own (AutoTemplateMissing without one)
  defaultTemplate: 'model',
  linearModules: [],
  saveableModules: [],
  defaultTargetModules: [],
  readConfig: readAutoConfig,
  writeConfig: writeAutoConfig,
  linearShape: () => unprobed('module shapes'),
  linearShapes: () => unprobed('module shapes'),
  moduleParams: () => unprobed('module sizes'),
  totalParams: () => unprobed('parameter count'),
}

/** A weight's module path and where it sits: the decoder layer it belongs to (the first number in its name), or none. */
interface ModuleWeight {
  /** Module path without `.weight` / `.bias` (`gpt_neox.layers.0.attention.query_key_value`). */
  path: string
  /** The last path component: what PEFT's suffix match compares a plain name with. */
  name: string
  layer: number | undefined
  shape: readonly number[]
}

function moduleWeights(shapes: WeightShapes): ModuleWeight[] {
  return [...shapes].map(([key, shape]) => {
    const path = key.replace(/\.(weight|bias)$/, '')
    const layer = /\.(\d+)\./.exec(`${path}.`)?.[1]
    return { path, name: path.slice(path.lastIndexOf('.') + 1), layer: layer === undefined ? undefined : Number(layer), shape }
  })
}

/** PEFT's match of a target name against a module path: equal, or a suffix after a dot. */
export const matchesModule = (path: string, target: string): boolean => path === target || path.endsWith(`.${target}`)

/**
 * The family entry of an `auto` folder from its weights: the linear modules are the 2-D `.weight`
 * tensors of the decoder layers (by their last name, as PEFT targets them), the saveable modules
 * those outside the layers (embeddings, heads, final norms); counts are the tensors' own sizes,
 * rows of the stored vocabulary (`stored`, config.json's) grown to a count's `config.vocabSize` (added tokens).
 */
export function probedFamily(stored: Pick<ModelConfig, 'vocabSize'>, shapes: WeightShapes): FamilyInfo<string, string> {
  const weights = moduleWeights(shapes)
  const storedVocab = stored.vocabSize
  const size = (w: ModuleWeight, c: ModelConfig): number => w.shape.reduce((n, d, i) => n * (i === 0 && d === storedVocab ? c.vocabSize : d), 1)
  const isLinear = (w: ModuleWeight): boolean => w.layer !== undefined && w.shape.length === 2 && shapes.has(`${w.path}.weight`)
  const firstLayer = Math.min(...weights.flatMap((w) => (w.layer === undefined ? [] : [w.layer])))
  const linearLayer0 = weights.filter((w) => isLinear(w) && w.layer === firstLayer)
  const linearModules = [...new Set(weights.filter(isLinear).map((w) => w.name))]
  const saveableModules = [...new Set(weights.filter((w) => w.layer === undefined).map((w) => w.name))]
  // [in, out]: torch's Linear stores [out, in] (a transposed Conv1D, gpt2's, gives the same r · (in + out))
  const linearShapes = (_c: ModelConfig, m: string): Array<readonly [number, number]> => linearLayer0.filter((w) => matchesModule(w.path, m)).map((w) => [w.shape[1]!, w.shape[0]!] as const)
  return {
    ...autoFamily,
    linearModules,
    saveableModules,
    linearShapes,
    linearShape: (c, m) => linearShapes(c, m)[0] ?? [0, 0],
    // a layer module's size in one layer (weight and bias); a module outside the layers, all of it
    moduleParams: (c, m) => {
      const inLayers = linearModules.includes(m)
      return weights.filter((w) => matchesModule(w.path, m) && (inLayers ? w.layer === firstLayer : w.layer === undefined)).reduce((n, w) => n + size(w, c), 0)
    },
    totalParams: (c) => weights.reduce((n, w) => n + size(w, c), 0),
  }
}
