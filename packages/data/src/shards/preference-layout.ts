/**
 * How a preference shard set cuts each sample (docs/architecture.md, "Preference shards"). Sample i
 * of the shard set is record i: `ids` = prompt ++ chosen ++ rejected (pairs) or prompt ++ completion
 * (unpaired), `mask` 0 on the prompt and 1 on the answer tokens that carry loss (position 0 of an
 * answer is predicted from the prompt's last token, so it is a label too).
 */
export type PreferenceLayout =
  | {
      kind: 'pairs'
      /** The format step's record id of each sample, for errors that name a record. */
      records: string[]
      promptLengths: number[]
      /** The rejected answer's length is the rest: lengths[i] − promptLengths[i] − chosenLengths[i]. */
      chosenLengths: number[]
    }
  | {
      kind: 'unpaired'
      records: string[]
      promptLengths: number[]
      /** KTO's label per sample: 1 desirable, 0 undesirable. */
      desirable: number[]
    }
