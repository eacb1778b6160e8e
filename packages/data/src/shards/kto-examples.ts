import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fail, issue, type Issue } from '@tunekit/core'
import { readPreferenceShards, type PreferencePair, type UnpairedExample } from './preference-shards.ts'

/** A kto example and where it comes from: pair i's chosen or rejected answer, or unpaired example i (the torch worker rebuilds the list from these). */
export type KtoExample = UnpairedExample & { source: readonly ['pairs', number, 'chosen' | 'rejected'] | readonly ['unpaired', number] }

/** datasets' `Dataset.map` default `batch_size`: TRL's unpair_preference_dataset maps this many pairs at a time. */
const UNPAIR_BATCH = 1000

/**
 * Pairs as KTO examples, the way TRL 1.16's `unpair_preference_dataset` lays them out: a batched
 * map over 1000 pairs at a time emits the batch's chosen answers (desirable) and then its rejected
 * ones (undesirable), each after the pair's prompt. The order matters: KTO's batches and KL pairs
 * follow it.
 * @see https://github.com/huggingface/trl/blob/v1.16.0/trl/data_utils.py (_unpair_row)
 */
export function unpairPreferences(pairs: readonly PreferencePair[]): KtoExample[] {
  const out: KtoExample[] = []
  for (let start = 0; start < pairs.length; start += UNPAIR_BATCH) {
    const batch = pairs.slice(start, start + UNPAIR_BATCH)
    batch.forEach((p, j) => out.push({ record: p.record, promptIds: p.promptIds, completionIds: p.chosenIds, labels: p.chosenLabels, desirable: true, source: ['pairs', start + j, 'chosen'] }))
    batch.forEach((p, j) => out.push({ record: p.record, promptIds: p.promptIds, completionIds: p.rejectedIds, labels: p.rejectedLabels, desirable: false, source: ['pairs', start + j, 'rejected'] }))
  }
  return out
}

/**
 * The examples the kto stage trains on, in the order both backends batch them: the tokenize
 * artifact's pairs unpaired (`unpairPreferences`), then its unpaired examples, each in record order.
 * NoKtoExamples (TK473, at `data.format`) when the data gave neither.
 */
export async function requireKtoExamples(tokenizeDir: string): Promise<{ examples: KtoExample[]; padId: number }> {
  const has = (set: string): Promise<boolean> => stat(join(tokenizeDir, set, 'index.json')).then(() => true, () => false)
  if (!(await has('pairs')) && !(await has('unpaired'))) fail('NoKtoExamples', { path: 'data.format' })
  const shards = await readPreferenceShards(tokenizeDir)
  const examples = [...unpairPreferences(shards.pairs), ...shards.unpaired.map((e, i): KtoExample => ({ ...e, source: ['unpaired', i] }))]
  if (examples.length === 0) fail('NoKtoExamples', { path: 'data.format' })
  return { examples, padId: shards.padId }
}

/**
 * The example whose completion is example i's KL completion (TRL's `KL_completion_ids`): within
 * each run of `batchSize` consecutive examples (the last may be shorter), completions rotate by
 * one, (x_1, y_n), (x_2, y_1), …, (x_n, y_{n−1}), so a batch's mismatched completions are its own.
 * @see https://github.com/huggingface/trl/blob/v1.16.0/trl/trainer/kto_trainer.py (add_kl_completion_ids)
 */
export function klCompletionOf(count: number, batchSize: number): number[] {
  return Array.from({ length: count }, (_, i) => {
    const start = i - (i % batchSize)
    const end = Math.min(count, start + batchSize) // exclusive
    return i === start ? end - 1 : i - 1
  })
}

const round2 = (x: number): number => Math.round(x * 100) / 100

/**
 * TRL's advice on unbalanced data (KTOTrainer._prepare_dataset, from Eq. 8 of the KTO paper): with
 * n_D desirable and n_U undesirable examples, desirableWeight in [n_U·w_U/n_D, 1.33·n_U·w_U/n_D] or
 * undesirableWeight in [n_D·w_D/n_U/1.33, n_D·w_D/n_U]; a KtoWeightsUnbalanced warning when neither is.
 */
export function ktoWeightAdvice(examples: readonly UnpairedExample[], desirableWeight: number, undesirableWeight: number): Issue | undefined {
  // TRL's counts: max(·, 1) each, the undesirable ones from the clamped desirable count
  const desirable = Math.max(examples.filter((e) => e.desirable).length, 1)
  const undesirable = Math.max(examples.length - desirable, 1)
  if (desirable === undesirable) return undefined
  const d: [number, number] = [round2((undesirable * undesirableWeight) / desirable), round2(((undesirable * undesirableWeight) / desirable) * 1.33)]
  const u: [number, number] = [round2((desirable * desirableWeight) / undesirable / 1.33), round2((desirable * desirableWeight) / undesirable)]
  const inRange = (w: number, [lo, hi]: [number, number]): boolean => lo <= w && w <= hi
  if (inRange(desirableWeight, d) || inRange(undesirableWeight, u)) return undefined
  return issue('KtoWeightsUnbalanced', { path: 'stage.desirableWeight', value: desirableWeight, severity: 'warning' }, desirable, undesirable, d, u)
}
