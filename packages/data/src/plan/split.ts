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

/** Writes the samples `indices` of `shards` as a shard set in `dir`. */
async function writeSubset(shards: Awaited<ReturnType<typeof readShards>>, indices: number[], dir: string, key: string | undefined): Promise<ShardIndex> {
  const w = await shardWriter(dir)
  let tokens = 0
  let trained = 0
  for (const i of indices) {
    const s = sampleOf(shards, i)
    tokens += s.ids.length
    for (let t = 1; t < s.mask.length; t++) trained += s.mask[t]!
    // a sample's images travel with it
    await w.add(s.ids, s.mask, s.images)
  }
  const meta = { stats: { samples: indices.length, tokens, trainedTokens: trained, sourceIndices: indices }, eosId: shards.index.eosId, padId: shards.index.padId, bosId: shards.index.bosId }
  return w.close(key ? { ...meta, key } : meta)
}

const all = (n: number): number[] => Array.from({ length: n }, (_, i) => i)

/** The split node's work: `train/` and `eval/` shard sets from the tokenize artifact's shards. */
export async function splitShards(inDir: string, outDir: string, opts: SplitOptions & { key?: string }): Promise<{ train: ShardIndex; eval: ShardIndex }> {
  const shards = await readShards(inDir)
  const parts = splitIndices(shards.index.count, opts)
  const key = (name: string): string | undefined => (opts.key ? `${opts.key}/${name}` : undefined)
  return {
    train: await writeSubset(shards, parts.train, join(outDir, 'train'), key('train')),
    eval: await writeSubset(shards, parts.eval, join(outDir, 'eval'), key('eval')),
  }
}

/**
 * The split node's work when the source has its own evaluation split (`data.split.evalSplit`):
 * every sample of `trainDir` trains, every sample of `evalDir` evaluates; nothing is carved out.
 */
export async function splitFromSets(trainDir: string, evalDir: string, outDir: string, opts: { key?: string } = {}): Promise<{ train: ShardIndex; eval: ShardIndex }> {
  const train = await readShards(trainDir)
  const evalShards = await readShards(evalDir)
  const key = (name: string): string | undefined => (opts.key ? `${opts.key}/${name}` : undefined)
  return {
    train: await writeSubset(train, all(train.index.count), join(outDir, 'train'), key('train')),
    eval: await writeSubset(evalShards, all(evalShards.index.count), join(outDir, 'eval'), key('eval')),
  }
}
