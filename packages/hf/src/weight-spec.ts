// Its own file: hf-folder.ts and the family weight lists (bert-weights.ts) both use it.

/** One weight of a model: its transformers name and shape (`[out, in]` for linear layers). */
export interface WeightSpec {
  name: string
  shape: number[]
  /** How transformers initialises it: normal(0, initializer_range), ones (norms) or zeros (biases). */
  init: 'normal' | 'ones' | 'zeros'
  /** A row set to 0 after the normal draw: an embedding's `padding_idx` (BERT's word embeddings). */
  zeroRow?: number
}
