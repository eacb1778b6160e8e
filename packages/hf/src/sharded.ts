// Weights of a Hugging Face model folder: one `model.safetensors`, or shards
// `model-00001-of-00003.safetensors` with `model.safetensors.index.json`
// (`{ metadata: { total_size }, weight_map: { tensor: shard file } }`), as transformers'
// `save_pretrained(max_shard_size=…)` writes them.
import { fail, parseJsonText } from '@tunekit/core'
import { existsSync, readFileSync } from 'node:fs'
import { readdir, rm } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { writeJsonAtomic } from '@tunekit/core'
import { openSafetensors, readHeaderSync, storedBytes, writeSafetensors, type FloatTensor, type SafetensorsFile, type SafetensorsHeader, type Tensor, type TensorInfo, type TensorSource } from './safetensors.ts'

export const SINGLE_FILE = 'model.safetensors'
export const INDEX_FILE = 'model.safetensors.index.json'

/** Parses `'5GB'`, `'200MB'`, `'10KB'`, `'512B'` (decimal units, as transformers) or a byte count. */
export function parseSize(size: string | number): number {
  if (typeof size === 'number') return size
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)$/i.exec(size.trim())
  if (!m) throw new Error(`cannot read the size ${JSON.stringify(size)}; expected e.g. "5GB"`)
  const unit = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9 }[m[2]!.toUpperCase() as 'B' | 'KB' | 'MB' | 'GB']
  return Math.floor(Number(m[1]) * unit)
}

/** All weights of a model folder, opened lazily: headers are read, tensors on demand. */
export interface ModelWeights {
  dir: string
  /** Tensor names, shard by shard in file order. */
  names: string[]
  /** dtype, shape and location of a tensor, without reading it. */
  info(name: string): TensorInfo
  read(name: string): Promise<Tensor>
  readFloat(name: string): Promise<FloatTensor>
  close(): Promise<void>
}

/** Where each tensor of a folder lives: the shard files, and the index's map (empty for one file). */
interface WeightLayout {
  /** Weight files to open, in order. */
  files: string[]
  /** Tensor name → shard file, from the index; `null` for a single `model.safetensors`. */
  shardOf: Map<string, string> | null
}

/**
 * Reads the folder's weight layout: the index (valid JSON, a weight_map of plain file names that
 * exist in the folder) or the single file; neither is ModelNotFound naming where it looked.
 */
function weightLayout(dir: string): WeightLayout {
  const indexFile = join(dir, INDEX_FILE)
  const indexText = existsSync(indexFile) ? readFileSync(indexFile, 'utf8') : undefined
  if (indexText === undefined) {
    if (existsSync(join(dir, SINGLE_FILE))) return { files: [SINGLE_FILE], shardOf: null }
    // No safetensors weights: say where we looked, and why a PyTorch-only folder is not read.
    const bin = existsSync(join(dir, 'pytorch_model.bin')) || existsSync(join(dir, 'pytorch_model.bin.index.json'))
    const looked = [join(dir, SINGLE_FILE), `${indexFile}${bin ? ' (the folder has only pytorch_model.bin weights; tunekit reads safetensors: convert them with transformers save_pretrained(safe_serialization=True))' : ''}`]
    return fail('ModelNotFound', { path: dir, hintArgs: [dir] }, dir, looked)
  }
  const parsed = parseJsonText(indexText)
  if (!parsed.ok) fail('MalformedSafetensors', { path: indexFile }, INDEX_FILE, `the index is ${parsed.reason}`)
  const map = (parsed.value as { weight_map?: unknown } | null)?.weight_map
  if (typeof map !== 'object' || map === null || Array.isArray(map)) fail('MalformedSafetensors', { path: indexFile }, INDEX_FILE, 'no "weight_map" object')
  const shardOf = new Map<string, string>()
  for (const [name, file] of Object.entries(map as Record<string, unknown>)) {
    // Shard names are plain file names in the same folder; anything else is refused.
    if (typeof file !== 'string' || file !== basename(file) || file.startsWith('.')) {
      fail('MalformedSafetensors', { path: indexFile, value: file }, INDEX_FILE, `weight_map entry ${JSON.stringify(name)} names ${JSON.stringify(file)}, not a file in the folder`)
    }
    shardOf.set(name, file as string)
  }
  const files = [...new Set(shardOf.values())]
  const absent = files.filter((f) => !existsSync(join(dir, f)))
  if (absent.length > 0) {
    const first = [...shardOf].find(([, f]) => f === absent[0])![0]
    fail('MalformedSafetensors', { path: indexFile, value: absent[0] }, INDEX_FILE, `weight_map names ${absent.map((f) => JSON.stringify(f)).join(', ')} (for ${JSON.stringify(first)}${shardOf.size > 1 ? ' and others' : ''}), which ${absent.length === 1 ? 'is' : 'are'} not in the folder (an incomplete download?)`)
  }
  return { files, shardOf }
}

/** The index must hold what it maps: each tensor in the shard it names. */
function checkIndex(dir: string, shardOf: ReadonlyMap<string, string>, headers: ReadonlyMap<string, SafetensorsHeader>): void {
  for (const [name, f] of shardOf) {
    if (!headers.get(f)!.tensors.has(name)) fail('MalformedSafetensors', { path: join(dir, f) }, f, `the index maps ${JSON.stringify(name)} to this shard but it does not hold it`)
  }
}

/** A weight's header entry and the file that holds it. */
export type WeightEntry = TensorInfo & { file: string }

/**
 * Every weight of a folder from the safetensors headers alone (no tensor is read), validated as
 * {@link openModelWeights} validates them; synchronous, for the planner.
 */
export function readWeightHeadersSync(dir: string): Map<string, WeightEntry> {
  const layout = weightLayout(dir)
  const headers = new Map(layout.files.map((f) => [f, readHeaderSync(join(dir, f))]))
  if (layout.shardOf) checkIndex(dir, layout.shardOf, headers)
  const out = new Map<string, WeightEntry>()
  for (const [f, h] of headers) {
    for (const t of [...h.tensors.values()].sort((a, b) => a.begin - b.begin)) {
      if (!layout.shardOf || layout.shardOf.get(t.name) === f) out.set(t.name, { ...t, file: join(dir, f) })
    }
  }
  return out
}

/** Opens the weights of a folder (single file or sharded with an index). */
export async function openModelWeights(dir: string): Promise<ModelWeights> {
  const layout = weightLayout(dir)
  const files = layout.files
  const opened: SafetensorsFile[] = []
  try {
    for (const f of files) opened.push(await openSafetensors(join(dir, f)))
  } catch (e) {
    await Promise.all(opened.map((o) => o.close()))
    throw e
  }
  const byFile = new Map(opened.map((o) => [basename(o.path), o]))
  const shardOf = layout.shardOf ?? new Map(opened[0]!.names.map((n) => [n, SINGLE_FILE]))
  try {
    checkIndex(dir, shardOf, new Map([...byFile].map(([f, o]) => [f, o.header])))
  } catch (e) {
    await Promise.all(opened.map((o) => o.close()))
    throw e
  }
  const fileOf = (name: string): SafetensorsFile => {
    const f = shardOf.get(name)
    if (f === undefined) throw new Error(`the model in ${dir} has no tensor ${JSON.stringify(name)}`)
    return byFile.get(f)!
  }
  return {
    dir,
    names: opened.flatMap((o) => o.names.filter((n) => shardOf.get(n) === basename(o.path))),
    info: (name) => fileOf(name).header.tensors.get(name)!,
    // async, so a missing name rejects the promise (callers `.catch` it) instead of throwing
    read: async (name) => fileOf(name).read(name),
    readFloat: async (name) => fileOf(name).readFloat(name),
    close: async () => {
      await Promise.all(opened.map((o) => o.close()))
    },
  }
}

/**
 * Writes weights into `dir`: one `model.safetensors` when they fit in `maxShardSize` bytes,
 * otherwise shards of at most that size (a tensor larger than the limit gets a shard of its own)
 * plus the index. Tensors keep the order given. Stale weight files of an earlier write are removed.
 * Returns the file names written.
 */
export async function writeModelWeights(
  dir: string,
  tensors: Iterable<readonly [string, TensorSource]>,
  options: { maxShardSize?: string | number; floatDtype?: 'F32' | 'F16' | 'BF16' } = {},
): Promise<string[]> {
  const limit = parseSize(options.maxShardSize ?? '5GB')
  const shards: Array<Array<readonly [string, TensorSource]>> = [[]]
  let current = 0
  let total = 0
  for (const entry of tensors) {
    const bytes = storedBytes(entry[1], options.floatDtype)
    if (current + bytes > limit && shards.at(-1)!.length > 0) {
      shards.push([])
      current = 0
    }
    shards.at(-1)!.push(entry)
    current += bytes
    total += bytes
  }
  const names = shards.length === 1 ? [SINGLE_FILE] : shards.map((_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`)
  for (let i = 0; i < shards.length; i++) await writeSafetensors(join(dir, names[i]!), shards[i]!, { floatDtype: options.floatDtype })
  if (shards.length > 1) {
    const weightMap: Record<string, string> = {}
    shards.forEach((s, i) => s.forEach(([name]) => (weightMap[name] = names[i]!)))
    await writeJsonAtomic(join(dir, INDEX_FILE), { metadata: { total_size: total }, weight_map: weightMap })
  }
  // Remove weight files this write did not produce (a re-write with another shard count).
  const keep = new Set([...names, ...(shards.length > 1 ? [INDEX_FILE] : [])])
  for (const f of await readdir(dir)) {
    if (/^model(-\d{5}-of-\d{5})?\.safetensors(\.index\.json)?$/.test(f) && !keep.has(f)) await rm(join(dir, f), { force: true })
  }
  return [...keep]
}
