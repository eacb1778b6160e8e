import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { readShards, sampleOf, type Shards } from './shards.ts'

/**
 * One preference pair as a stage reads it: views into the shard files, no copy. Labels are 1
 * where an answer token carries loss (0 on tool results inside an answer); the stage concatenates
 * `promptIds ++ chosenIds` and `promptIds ++ rejectedIds` itself.
 */
export interface PreferencePair {
  /** The format step's record id (`preferences.jsonl` line), for errors that name the record. */
  record: string
  promptIds: Int32Array
  chosenIds: Int32Array
  chosenLabels: Uint8Array
  rejectedIds: Int32Array
  rejectedLabels: Uint8Array
}

/** One KTO example: a prompt and one completion, desirable or not. */
export interface UnpairedExample {
  record: string
  promptIds: Int32Array
  completionIds: Int32Array
  labels: Uint8Array
  desirable: boolean
}

/** The preference shards of a tokenize artifact: `pairs/` and `unpaired/`, each read when present. */
export interface PreferenceShards {
  pairs: PreferencePair[]
  unpaired: UnpairedExample[]
  eosId: number
  padId: number
  bosId: number | null
}

const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false)

function pairsOf(s: Shards): PreferencePair[] {
  const layout = s.index.preference
  if (layout?.kind !== 'pairs') throw new Error(`${s.index.key}: not a shard set of preference pairs`)
  return layout.records.map((record, i) => {
    const { ids, mask } = sampleOf(s, i)
    const p = layout.promptLengths[i]!
    const c = p + layout.chosenLengths[i]!
    return { record, promptIds: ids.subarray(0, p), chosenIds: ids.subarray(p, c), chosenLabels: mask.subarray(p, c), rejectedIds: ids.subarray(c), rejectedLabels: mask.subarray(c) }
  })
}

function unpairedExamplesOf(s: Shards): UnpairedExample[] {
  const layout = s.index.preference
  if (layout?.kind !== 'unpaired') throw new Error(`${s.index.key}: not a shard set of unpaired examples`)
  return layout.records.map((record, i) => {
    const { ids, mask } = sampleOf(s, i)
    const p = layout.promptLengths[i]!
    return { record, promptIds: ids.subarray(0, p), completionIds: ids.subarray(p), labels: mask.subarray(p), desirable: layout.desirable[i] === 1 }
  })
}

/**
 * Reads the preference shards the preference tokenize step wrote into `dir` (runTokenizePreferences):
 * pairs for rm / dpo / orpo / simpo, unpaired examples for kto, in record order.
 */
export async function readPreferenceShards(dir: string): Promise<PreferenceShards> {
  const pairsDir = join(dir, 'pairs')
  const unpairedDir = join(dir, 'unpaired')
  const pairs = (await exists(join(pairsDir, 'index.json'))) ? await readShards(pairsDir) : undefined
  const unpaired = (await exists(join(unpairedDir, 'index.json'))) ? await readShards(unpairedDir) : undefined
  const index = (pairs ?? unpaired)?.index
  if (!index) throw new Error(`${dir} holds no preference shards (pairs/ or unpaired/)`)
  return { pairs: pairs ? pairsOf(pairs) : [], unpaired: unpaired ? unpairedExamplesOf(unpaired) : [], eosId: index.eosId, padId: index.padId, bosId: index.bosId }
}

/** Consecutive batches of `size` items (the last may be shorter), in order: the stage shuffles first. */
export function* batchesOf<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size)
}
