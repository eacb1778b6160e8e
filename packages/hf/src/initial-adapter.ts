// The initial LoRA adapter, drawn here in TypeScript from the run's seed, so the tfjs and torch
// backends start from identical weights (and can be compared step by step).
//
// PEFT's `LoraLayer.reset_lora_parameters` (peft/tuners/lora/layer.py):
//   init_lora_weights=True:       nn.init.kaiming_uniform_(lora_A.weight, a=math.sqrt(5))
//   init_lora_weights="gaussian": nn.init.normal_(lora_A.weight, std=1 / r)
//   lora_B.weight = 0
// kaiming_uniform_ with a = √5: gain = √(2 / (1 + a²)) = √(1/3), std = gain / √fan_in, and
// bound = √3 · std = 1 / √fan_in, where fan_in = in_features (lora_A.weight is [r, in]).
// modules_to_save start as copies of the base weights (the reward head `score`, which a decoder lacks, is drawn); trainable-token rows start as the base
// rows (PEFT's TrainableTokensLayer.update_layer copies `weight[token_indices]`). DoRA's magnitude
// vectors start as the row norms ‖W + scale·B·A‖ = ‖W‖ (B = 0), as PEFT's DoraLinearLayer.update_layer
// computes them, so training starts from the base model exactly. PiSSA's A and B are the base
// weight's principal singular vectors (peft/pissa.ts), not a draw; LoftQ's are left to the backend.
import type { ModelConfig } from '@tunekit/core'
import { moduleWeightName } from './hf-folder.ts'
import { familyOf } from './family-of.ts'
import { loraKey, magnitudeKey, savedModuleKey, targetModuleList, trainableTokensKey, type LoraSpec } from './peft/lora.ts'
import { isPissa, pissaStart } from './peft/pissa.ts'
import { isLoftq } from './peft/loftq.ts'
import { createRng, fillNormal, fillUniform } from './prng.ts'
import type { FloatTensor } from './safetensors.ts'

/** Base weights by transformers name: a map, or an opened model folder (`openModelWeights`). */
export type BaseTensors = ReadonlyMap<string, FloatTensor> | { readFloat(name: string): Promise<FloatTensor> }

export interface InitialAdapterOptions {
  family: string
  config: ModelConfig
  lora: LoraSpec
  /** `args.seed`: the same seed gives the same bytes on every machine. */
  seed: number
  /** Needed when `lora.modulesToSave`, `lora.trainableTokens`, `lora.useDora` or PiSSA is set (their start values come from base weights). */
  baseTensors?: BaseTensors
  /**
   * PiSSA (`lora.initLoraWeights`): `true` computes A and B from the SVD of each base weight
   * (peft/pissa.ts; the tfjs backend); `false` leaves them out, for the torch worker, which
   * computes them itself with PEFT's pissa_init.
   * @defaultValue true
   */
  pissaMatrices?: boolean
}

async function baseWeight(base: BaseTensors | undefined, module: string, config: ModelConfig, layer?: number): Promise<FloatTensor> {
  if (base === undefined) throw new Error(`initialAdapter needs baseTensors to initialise ${module} (modulesToSave / trainableTokens / DoRA magnitudes start from the base weights)`)
  // With tied embeddings lm_head.weight is model.embed_tokens.weight (transformers stores it once).
  const names = [moduleWeightName(module, layer), ...(module === 'lm_head' && config.tieWordEmbeddings ? ['model.embed_tokens.weight'] : [])]
  for (const name of names) {
    if ('get' in base) {
      const t = base.get(name)
      if (t) return t
    } else {
      const t = await base.readFloat(name).catch(() => undefined)
      if (t) return t
    }
  }
  throw new Error(`baseTensors has no ${names.join(' or ')}`)
}

/**
 * The reward head `score.weight` [1, hidden] of a decoder that has none: transformers'
 * `_init_weights` draws a new Linear from N(0, initializer_range²), 0.02 for llama, mistral and
 * qwen2. Its own stream (seed, its PEFT key), the same bytes for both backends and every method.
 */
export function initialScoreHead(config: ModelConfig, seed: number): FloatTensor {
  const data = fillNormal(createRng(seed, savedModuleKey('score')), new Float32Array(config.hiddenSize), 0, 0.02)
  return { shape: [1, config.hiddenSize], data }
}

/** ‖row‖₂ of a [out, in] weight, summed in float64: [out]. */
export function rowNorms(w: FloatTensor): Float32Array {
  const [rows, cols] = w.shape as [number, number]
  const out = new Float32Array(rows)
  for (let r = 0; r < rows; r++) {
    let sum = 0
    for (let c = r * cols; c < (r + 1) * cols; c++) sum += w.data[c]! * w.data[c]!
    out[r] = Math.sqrt(sum)
  }
  return out
}

/**
 * Draws the initial adapter in PEFT key names (see peft/lora.ts). Every tensor has its own
 * random stream (seed, key), so adding a module does not change the others.
 */
export async function initialAdapter(options: InitialAdapterOptions): Promise<Map<string, FloatTensor>> {
  const { family, config, lora, seed } = options
  const info = familyOf(family)
  const modules = targetModuleList(lora, family)
  const out = new Map<string, FloatTensor>()
  for (let layer = 0; layer < config.numHiddenLayers; layer++) {
    for (const module of modules) {
      const [inF, outF] = info.linearShape(config, module)
      const keyA = loraKey(module, layer, 'lora_A')
      if (isPissa(lora)) {
        if (options.pissaMatrices ?? true) {
          const { a, b } = pissaStart(await baseWeight(options.baseTensors, module, config, layer), lora)
          out.set(keyA, a)
          out.set(loraKey(module, layer, 'lora_B'), b)
        }
        continue
      }
      // LoftQ's A and B fit each weight's quantisation error: the backend computes them with the replaced
      // base (tfjs: methods/loftq.ts; torch: PEFT's loftq_init), so none are drawn
      if (isLoftq(lora)) continue
      const a = new Float32Array(lora.rank * inF) // [r, in]
      const rng = createRng(seed, keyA)
      if ((lora.init ?? 'default') === 'gaussian') fillNormal(rng, a, 0, 1 / lora.rank)
      else fillUniform(rng, a, 1 / Math.sqrt(inF))
      out.set(keyA, { shape: [lora.rank, inF], data: a })
      out.set(loraKey(module, layer, 'lora_B'), { shape: [outF, lora.rank], data: new Float32Array(outF * lora.rank) }) // [out, r] = 0
      if (lora.useDora) out.set(magnitudeKey(module, layer), { shape: [outF], data: rowNorms(await baseWeight(options.baseTensors, module, config, layer)) })
    }
  }
  for (const module of lora.modulesToSave ?? []) {
    const w = module === 'score' ? initialScoreHead(config, seed) : await baseWeight(options.baseTensors, module, config)
    out.set(savedModuleKey(module), { shape: [...w.shape], data: Float32Array.from(w.data) })
  }
  for (const [module, ids] of Object.entries(lora.trainableTokens ?? {})) {
    const w = await baseWeight(options.baseTensors, module, config)
    const [rows, hidden] = w.shape as [number, number]
    const delta = new Float32Array(ids.length * hidden) // [tokens, hidden]
    ids.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= rows) throw new Error(`trainable token id ${id} is outside ${module} (${rows} rows)`)
      delta.set(w.data.subarray(id * hidden, (id + 1) * hidden), i * hidden)
    })
    out.set(trainableTokensKey(module), { shape: [ids.length, hidden], data: delta })
  }
  return out
}
