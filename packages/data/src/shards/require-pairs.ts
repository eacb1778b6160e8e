import { fail } from '@tunekit/core'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { readPreferenceShards, type PreferenceShards } from './preference-shards.ts'

/**
 * The preference shards of a tokenize artifact for a stage that trains on pairs: NoPreferencePairs
 * (TK440, at `data.format`) when the data gave none, before any model is loaded.
 */
export async function requirePreferencePairs(tokenizeDir: string, stage: string): Promise<PreferenceShards> {
  const found = await stat(join(tokenizeDir, 'pairs', 'index.json')).then(() => true, () => false)
  const shards = found ? await readPreferenceShards(tokenizeDir) : undefined
  if (!shards || shards.pairs.length === 0) fail('NoPreferencePairs', { path: 'data.format' }, stage)
  return shards
}
