// Its own file: hf-folder.ts and the family weight lists (bert-weights.ts) both use it.
import { createRng, fillNormal } from './prng.ts'
import type { FloatTensor } from './safetensors.ts'

/** One weight of a model: its transformers name and shape (`[out, in]` for linear layers). */
export interface WeightSpec {
  name: string
  shape: number[]
  /** How transformers initialises it: normal(0, initializer_range), ones (norms) or zeros (biases). */
  init: 'normal' | 'ones' | 'zeros'
  /** A row set to 0 after the normal draw: an embedding's `padding_idx` (BERT's word embeddings). */
  zeroRow?: number
  /**
   * Other names a checkpoint may store it under, which transformers still loads: BERT without
   * the `bert.` prefix (a BertModel checkpoint) and LayerNorm `gamma` / `beta` (bert-base-uncased).
   */
  aliases?: string[]
  /**
   * A task head a checkpoint may lack (a pretrained encoder has no `qa_outputs`): transformers
   * initialises it, and so does tunekit ({@link freshWeight}), with a warning instead of an error.
   */
  fresh?: true
}

/** A torch Linear with a bias: weight [out, in] normal, bias [out] zeros (`_init_weights`). */
export const biasedLinear = (path: string, inF: number, outF: number): WeightSpec[] => [
  { name: `${path}.weight`, shape: [outF, inF], init: 'normal' },
  { name: `${path}.bias`, shape: [outF], init: 'zeros' },
]

/** A LayerNorm: weight ones, bias zeros. */
export const layerNorm = (path: string, width: number): WeightSpec[] => [
  { name: `${path}.weight`, shape: [width], init: 'ones' },
  { name: `${path}.bias`, shape: [width], init: 'zeros' },
]

/** The name a checkpoint stores a weight under: its own or the first alias present; none when absent. */
export function storedWeightName(spec: WeightSpec, stored: { has(name: string): boolean }): string | undefined {
  return [spec.name, ...(spec.aliases ?? [])].find((n) => stored.has(n))
}

/**
 * A weight the checkpoint lacks, drawn as transformers' `_init_weights` draws a new one (normal(0,
 * std), ones, zeros) from its own seeded stream, so both backends start the same head.
 */
export function freshWeight(spec: WeightSpec, std: number, seed: number): FloatTensor {
  const data = new Float32Array(spec.shape.reduce((a, b) => a * b, 1))
  if (spec.init === 'ones') data.fill(1)
  else if (spec.init === 'normal') fillNormal(createRng(seed, `fresh:${spec.name}`), data, 0, std)
  return { shape: spec.shape, data }
}
