import { createHash } from 'node:crypto'
import { open, mkdir, readFile, rename, rm, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import type { Json } from '@tunekit/core'
import { tempName, writeJsonAtomic } from '@tunekit/core'
import { imagesOf, pixelWriter, readPixels, type ImagesIndex, type ShardImage } from './pixel-shards.ts'
import type { PreferenceLayout } from './preference-layout.ts'
import { isLittleEndian } from '../util/endian.ts'

/**
 * `index.json` of a token shard set (docs/architecture.md, "Token shards"): sample `i` is
 * `ids[offsets[i] : offsets[i] + lengths[i]]` in `ids.bin` (int32 LE) and `mask.bin` (uint8).
 */
export interface ShardIndex {
  format: 'tunekit-shards'
  version: 1
  /** Content key: the node key when written by a node, else sha256 of ids.bin + mask.bin. */
  key: string
  count: number
  offsets: number[]
  lengths: number[]
  stats: { [key: string]: Json }
  eosId: number
  padId: number
  bosId: number | null
  /**
   * The tokenize artifact's index only: ids of the embedding rows `lora.trainableTokens` trains,
   * resolved once here (tokenize/trainable-tokens.ts) for both backends and the initial adapter.
   */
  trainableTokenIds?: number[]
  /**
   * Preference shards only (preference-shards.ts): sample i is one record, its prompt ids once and
   * then its answers; the lengths that cut it are here.
   */
  preference?: PreferenceLayout
  /** Sets whose samples have images: where each sample's images are in `pixels.bin` (pixel-shards.ts). */
  images?: ImagesIndex
}

/** A shard set in memory: typed arrays over the whole files. */
export interface Shards {
  index: ShardIndex
  ids: Int32Array
  mask: Uint8Array
  /** pixels.bin, when the set has images. */
  pixels?: Float32Array
}

export interface ShardWriter {
  /** Appends one sample; `mask[i]` = 1 when token i is a label; its images go to pixels.bin. */
  add: (ids: ArrayLike<number>, mask: ArrayLike<number>, images?: readonly ShardImage[]) => Promise<void>
  count: () => number
  /** Writes index.json and moves the files into place. */
  close: (meta: { key?: string; stats: { [key: string]: Json }; eosId: number; padId: number; bosId: number | null; trainableTokenIds?: number[]; preference?: PreferenceLayout }) => Promise<ShardIndex>
  /** Closes the files and removes the temp files: what a failed tokenize calls, so no `*.tmp-*` and no open handle remains. */
  abort: () => Promise<void>
}

/**
 * Streams samples into `dir` (created): ids and masks go through reused buffers flushed every
 * 1 Mi tokens, so memory is bounded by the buffer plus the offsets. Files are written under temp
 * names and renamed on close.
 */
export async function shardWriter(dir: string): Promise<ShardWriter> {
  await mkdir(dir, { recursive: true })
  const idsPath = join(dir, 'ids.bin')
  const maskPath = join(dir, 'mask.bin')
  const idsTmp = tempName(idsPath)
  const maskTmp = tempName(maskPath)
  const idsFile: FileHandle = await open(idsTmp, 'w')
  const maskFile: FileHandle = await open(maskTmp, 'w')
  const capacity = 1 << 20
  const idBuf = new Int32Array(capacity)
  const idBytes = new Uint8Array(idBuf.buffer)
  const view = new DataView(idBuf.buffer)
  const maskBuf = new Uint8Array(capacity)
  let used = 0
  const offsets: number[] = []
  const lengths: number[] = []
  let total = 0
  const hash = createHash('sha256')
  const pixels = pixelWriter(dir)
  const flush = async (): Promise<void> => {
    if (used === 0) return
    hash.update(idBytes.subarray(0, used * 4))
    hash.update(maskBuf.subarray(0, used))
    await idsFile.write(idBytes, 0, used * 4)
    await maskFile.write(maskBuf, 0, used)
    used = 0
  }
  return {
    async add(ids, mask, images) {
      await pixels.add(images)
      offsets.push(total)
      lengths.push(ids.length)
      total += ids.length
      for (let i = 0; i < ids.length; i++) {
        if (used === capacity) await flush()
        if (isLittleEndian) idBuf[used] = ids[i]!
        else view.setInt32(used * 4, ids[i]!, true)
        maskBuf[used] = mask[i]!
        used++
      }
    },
    count: () => offsets.length,
    async abort() {
      await idsFile.close().catch(() => undefined)
      await maskFile.close().catch(() => undefined)
      await rm(idsTmp, { force: true })
      await rm(maskTmp, { force: true })
      await pixels.abort()
    },
    async close(meta) {
      await flush()
      await idsFile.close()
      await maskFile.close()
      await rename(idsTmp, idsPath)
      await rename(maskTmp, maskPath)
      const images = await pixels.close()
      const index: ShardIndex = {
        format: 'tunekit-shards',
        version: 1,
        key: meta.key ?? hash.digest('hex'),
        count: offsets.length,
        offsets,
        lengths,
        stats: meta.stats,
        eosId: meta.eosId,
        padId: meta.padId,
        bosId: meta.bosId,
        ...(meta.trainableTokenIds ? { trainableTokenIds: meta.trainableTokenIds } : {}),
        ...(meta.preference ? { preference: meta.preference } : {}),
        ...(images ? { images } : {}),
      }
      await writeJsonAtomic(join(dir, 'index.json'), index)
      return index
    },
  }
}

/** Writes a whole shard set from samples held in memory (tests, small data). */
export async function writeShards(
  dir: string,
  samples: Iterable<{ ids: ArrayLike<number>; mask: ArrayLike<number> }>,
  meta: Parameters<ShardWriter['close']>[0],
): Promise<ShardIndex> {
  const w = await shardWriter(dir)
  for (const s of samples) await w.add(s.ids, s.mask)
  return w.close(meta)
}

/** Reads a shard set (ids as little-endian int32 whatever the host order). */
export async function readShards(dir: string): Promise<Shards> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as ShardIndex
  const raw = await readFile(join(dir, 'ids.bin'))
  const ids = new Int32Array(raw.byteLength / 4)
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
  for (let i = 0; i < ids.length; i++) ids[i] = view.getInt32(i * 4, true)
  const mask = new Uint8Array(await readFile(join(dir, 'mask.bin')))
  return index.images ? { index, ids, mask, pixels: await readPixels(dir) } : { index, ids, mask }
}

/** Sample `i` of a shard set: views, no copy; `images` when the set has them. */
export const sampleOf = (s: Shards, i: number): { ids: Int32Array; mask: Uint8Array; images?: ShardImage[] } => {
  const start = s.index.offsets[i]!
  const end = start + s.index.lengths[i]!
  const sample = { ids: s.ids.subarray(start, end), mask: s.mask.subarray(start, end) }
  return s.index.images && s.pixels ? { ...sample, images: imagesOf(s.index.images, s.pixels, i) } : sample
}

/** Removes a shard set folder (used when a step must start over). */
export const removeShards = (dir: string): Promise<void> => rm(dir, { recursive: true, force: true })
