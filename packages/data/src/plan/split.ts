import { join } from 'node:path'
import { permutation } from '../util/rng.ts'
import { readShards, sampleOf, shardWriter, type ShardIndex } from '../shards/shards.ts'

export interface SplitOptions {
  /** A ratio in (0, 1) or a count ≥ 1 of evaluation samples; 0 keeps everything for training. */
  eval: number
  seed: number
}

/**
 * Which samples go to eval: a seeded shuffle picks `ceil(ratio × n)` (or `count`) of them, as
 * datasets' train_test_split does; at least one sample stays in train. Both lists keep the
 * original order.
 */
export function splitIndices(n: number, opts: SplitOptions): { train: number[]; eval: number[] } {
  const wanted = opts.eval <= 0 ? 0 : opts.eval < 1 ? Math.ceil(opts.eval * n) : Math.floor(opts.eval)
  const evalCount = Math.min(wanted, Math.max(0, n - 1))
  const picked = new Set(permutation(n, opts.seed).slice(0, evalCount))
  const train: number[] = []
  const evalSet: number[] = []
  for (let i = 0; i < n; i++) (picked.has(i) ? evalSet : train).push(i)
  return { train, eval: evalSet }
}

/** The split node's work: `train/` and `eval/` shard sets from the tokenize artifact's shards. */
export async function splitShards(inDir: string, outDir: string, opts: SplitOptions & { key?: string }): Promise<{ train: ShardIndex; eval: ShardIndex }> {
  const shards = await readShards(inDir)
  const parts = splitIndices(shards.index.count, opts)
  const write = async (name: 'train' | 'eval', indices: number[]): Promise<ShardIndex> => {
    const w = await shardWriter(join(outDir, name))
    let tokens = 0
    let trained = 0
    for (const i of indices) {
      const s = sampleOf(shards, i)
      tokens += s.ids.length
      for (let t = 1; t < s.mask.length; t++) trained += s.mask[t]!
      await w.add(s.ids, s.mask)
    }
    const meta = { stats: { samples: indices.length, tokens, trainedTokens: trained, sourceIndices: indices }, eosId: shards.index.eosId, padId: shards.index.padId, bosId: shards.index.bosId }
    return w.close(opts.key ? { ...meta, key: `${opts.key}/${name}` } : meta)
  }
  return { train: await write('train', parts.train), eval: await write('eval', parts.eval) }
}
