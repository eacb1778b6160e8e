// Safetensors files: a little-endian u64 header length, a JSON header
// `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: { k: v } }`, then the
// tensors' bytes back to back. https://github.com/huggingface/safetensors#format
//
// The header is validated completely before any tensor buffer is allocated, so a truncated or
// hostile file is a MalformedSafetensors error, never a crash or a huge allocation.
import { fail } from '@tunekit/core'
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { basename } from 'node:path'
import { withAtomicFile } from '@tunekit/core'
import { decode, dtypeBytes, encode, isDtype, nativeDtype, type Dtype, type TensorData } from './dtypes.ts'

/**
 * Largest header tunekit reads, in bytes: the safetensors reference refuses headers over
 * 100 000 000 bytes (`MAX_HEADER_SIZE`, HeaderTooLarge); real headers are a few hundred KB even
 * for 70B models. Checked on the 8-byte length, before the header is allocated or read.
 */
export const MAX_HEADER_BYTES = 100_000_000

/** A tensor in memory: row-major values and their shape. */
export interface Tensor<D extends TensorData = TensorData> {
  shape: number[]
  data: D
}
/** A float tensor (what weights and adapters are in tunekit). */
export type FloatTensor = Tensor<Float32Array>

/** One tensor's entry in a header; offsets are absolute byte positions in the file. */
export interface TensorInfo {
  name: string
  dtype: Dtype
  shape: number[]
  /** Absolute byte range `[begin, end)` in the file. */
  begin: number
  end: number
}

/** A parsed, validated header. */
export interface SafetensorsHeader {
  tensors: Map<string, TensorInfo>
  metadata: Record<string, string>
  /** Bytes before the first tensor (8 + header length). */
  dataStart: number
}

const bad = (file: string, reason: string): never => fail('MalformedSafetensors', { path: file }, basename(file), reason)

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

// JSON.parse keeps the last of duplicate keys silently; this scan lists the top-level keys in
// order so duplicates are an error instead. It walks the already-valid JSON text once.
function topLevelKeys(text: string): string[] {
  const keys: string[] = []
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (ch === '"') {
      let j = i + 1
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1
      if (depth === 1) {
        let k = j + 1
        while (text[k] === ' ' || text[k] === '\n' || text[k] === '\r' || text[k] === '\t') k++
        if (text[k] === ':') keys.push(JSON.parse(text.slice(i, j + 1)) as string)
      }
      i = j
    } else if (ch === '{' || ch === '[') depth++
    else if (ch === '}' || ch === ']') depth--
  }
  return keys
}

/**
 * Validates a header's JSON text against the file size: known dtypes, shapes whose byte size
 * matches the offsets, offsets inside the file, tensors contiguous (sorted, no overlap, no gap),
 * no duplicate names.
 */
export function parseHeader(file: string, text: string, headerLength: number, fileSize: number): SafetensorsHeader {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return bad(file, `the header is not valid JSON (${(e as Error).message})`)
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return bad(file, 'the header is not a JSON object')
  const keys = topLevelKeys(text)
  const seen = new Set<string>()
  for (const k of keys) {
    if (seen.has(k)) bad(file, `tensor ${JSON.stringify(k)} appears twice in the header`)
    seen.add(k)
  }

  const dataStart = 8 + headerLength
  const dataSize = fileSize - dataStart
  const metadata: Record<string, string> = {}
  const entries: TensorInfo[] = []
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad(file, '__metadata__ is not an object')
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') bad(file, `__metadata__.${k} is not a string`)
        metadata[k] = v as string
      }
      continue
    }
    const at = `tensor ${JSON.stringify(name)}`
    if (typeof raw !== 'object' || raw === null) return bad(file, `${at} is not an object`)
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>
    if (!isDtype(dtype)) return bad(file, `${at} has unknown dtype ${JSON.stringify(dtype)}; known: ${Object.keys(dtypeBytes).join(', ')}`)
    if (!Array.isArray(shape) || !shape.every(isCount)) return bad(file, `${at} has an invalid shape ${JSON.stringify(shape)}`)
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
      return bad(file, `${at} has invalid data_offsets ${JSON.stringify(offsets)}`)
    }
    // Element count with an overflow check at every factor, so a huge shape is caught here.
    let count = 1
    for (const d of shape as number[]) {
      count *= d
      if (!Number.isSafeInteger(count * dtypeBytes[dtype])) return bad(file, `${at} has a shape too large to address: ${JSON.stringify(shape)}`)
    }
    const [begin, end] = offsets as [number, number]
    if (end < begin) return bad(file, `${at} ends (${end}) before it begins (${begin})`)
    if (end - begin !== count * dtypeBytes[dtype]) {
      return bad(file, `${at} has shape ${JSON.stringify(shape)} of ${dtype} (${count * dtypeBytes[dtype]} bytes) but data_offsets span ${end - begin} bytes`)
    }
    if (end > dataSize) return bad(file, `${at} ends at byte ${end} of the data but the file holds only ${dataSize} bytes of data (truncated?)`)
    entries.push({ name, dtype, shape: shape as number[], begin: dataStart + begin, end: dataStart + end })
  }
  // Contiguity: sorted by begin, each tensor starts where the previous ended, the last ends the file.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end)
  let cursor = dataStart
  for (const t of sorted) {
    if (t.begin < cursor) bad(file, `tensor ${JSON.stringify(t.name)} overlaps the previous tensor (begins at ${t.begin - dataStart}, previous ends at ${cursor - dataStart})`)
    if (t.begin > cursor) bad(file, `a gap of ${t.begin - cursor} bytes precedes tensor ${JSON.stringify(t.name)}`)
    cursor = t.end
  }
  if (cursor !== fileSize) bad(file, `the tensors end at byte ${cursor} but the file has ${fileSize} bytes`)
  return { tensors: new Map(entries.map((t) => [t.name, t])), metadata, dataStart }
}

/**
 * The header length from the file's first 8 bytes, refused before anything is allocated when it
 * is larger than the rest of the file or than {@link MAX_HEADER_BYTES}.
 */
function headerLength(file: string, size: number, prefix: Buffer): number {
  if (size < 8) bad(file, `the file has ${size} bytes, fewer than the 8-byte header length`)
  const length = prefix.readBigUInt64LE(0)
  if (length > BigInt(size - 8)) bad(file, `the header length ${length} is larger than the rest of the file (${size - 8} bytes)`)
  if (length > BigInt(MAX_HEADER_BYTES)) bad(file, `the header length ${length} exceeds the ${MAX_HEADER_BYTES}-byte limit of the safetensors format`)
  return Number(length)
}

/** Reads and validates only the header of a file. */
export async function readHeader(file: string, handle?: FileHandle): Promise<SafetensorsHeader> {
  const own = handle === undefined
  const h = handle ?? (await open(file, 'r').catch((e: NodeJS.ErrnoException) => bad(file, `cannot open it (${e.code ?? e.message})`)))
  try {
    const { size } = await h.stat()
    const prefix = Buffer.alloc(8)
    if (size >= 8) await h.read(prefix, 0, 8, 0)
    const n = headerLength(file, size, prefix)
    const text = Buffer.alloc(n)
    let done = 0
    while (done < n) {
      const { bytesRead } = await h.read(text, done, n - done, 8 + done)
      if (bytesRead === 0) bad(file, `the file ended inside the header (byte ${8 + done} of ${8 + n})`)
      done += bytesRead
    }
    return parseHeader(file, text.toString('utf8'), n, size)
  } finally {
    if (own) await h.close()
  }
}

/** {@link readHeader} without a promise, for the planner (which reads headers only, synchronously). */
export function readHeaderSync(file: string): SafetensorsHeader {
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch (e) {
    return bad(file, `cannot open it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`)
  }
  try {
    const { size } = fstatSync(fd)
    const prefix = Buffer.alloc(8)
    if (size >= 8) readSync(fd, prefix, 0, 8, 0)
    const n = headerLength(file, size, prefix)
    const text = Buffer.alloc(n)
    let done = 0
    while (done < n) {
      const read = readSync(fd, text, done, n - done, 8 + done)
      if (read === 0) bad(file, `the file ended inside the header (byte ${8 + done} of ${8 + n})`)
      done += read
    }
    return parseHeader(file, text.toString('utf8'), n, size)
  } finally {
    closeSync(fd)
  }
}

/** An open safetensors file whose tensors are read one at a time, on demand. */
export interface SafetensorsFile {
  path: string
  header: SafetensorsHeader
  /** Tensor names in file order. */
  names: string[]
  /** Reads one tensor; F16/BF16/F32 come back as float32. */
  read(name: string): Promise<Tensor>
  /** Reads one float tensor as float32 (errors on integer tensors). */
  readFloat(name: string): Promise<FloatTensor>
  close(): Promise<void>
}

/** Opens a file and validates its header; tensors are read later by name. */
export async function openSafetensors(file: string): Promise<SafetensorsFile> {
  const handle = await open(file, 'r').catch((e: NodeJS.ErrnoException) => bad(file, `cannot open it (${e.code ?? e.message})`))
  let header: SafetensorsHeader
  try {
    header = await readHeader(file, handle)
  } catch (e) {
    await handle.close()
    throw e
  }
  const names = [...header.tensors.values()].sort((a, b) => a.begin - b.begin).map((t) => t.name)
  const read = async (name: string): Promise<Tensor> => {
    const info = header.tensors.get(name)
    if (!info) throw new Error(`${basename(file)} has no tensor ${JSON.stringify(name)}`)
    // A fresh buffer per tensor: aligned for any typed array view, and sized by the validated header.
    const bytes = new Uint8Array(new ArrayBuffer(info.end - info.begin))
    let done = 0
    while (done < bytes.byteLength) {
      const { bytesRead } = await handle.read(bytes, done, bytes.byteLength - done, info.begin + done)
      if (bytesRead === 0) bad(file, `the file ended while reading tensor ${JSON.stringify(name)}`)
      done += bytesRead
    }
    return { shape: [...info.shape], data: decode(info.dtype, bytes) }
  }
  const readFloat = async (name: string): Promise<FloatTensor> => {
    const t = await read(name)
    if (t.data instanceof Float32Array) return t as FloatTensor
    if (t.data instanceof Float64Array) return { shape: t.shape, data: Float32Array.from(t.data) }
    return bad(file, `tensor ${JSON.stringify(name)} is ${header.tensors.get(name)?.dtype}, not a float type (F32, F16, BF16, F64)`)
  }
  return { path: file, header, names, read, readFloat, close: () => handle.close() }
}

/** Reads every tensor of a file into memory (small files: adapters, optimizer state). */
export async function readSafetensors(file: string): Promise<{ tensors: Map<string, Tensor>; metadata: Record<string, string> }> {
  const f = await openSafetensors(file)
  try {
    const tensors = new Map<string, Tensor>()
    for (const name of f.names) tensors.set(name, await f.read(name))
    return { tensors, metadata: f.header.metadata }
  } finally {
    await f.close()
  }
}

/** A tensor to write; float32 data is stored as `dtype` (F32 unless told F16 or BF16). */
export interface TensorToWrite {
  shape: readonly number[]
  data: TensorData
  dtype?: Dtype
}

/**
 * A tensor produced only when its turn to be written comes, so a large model is written without
 * holding all its weights in memory. `dtype` is the stored type (float32 data is encoded to it).
 */
export interface LazyTensor {
  shape: readonly number[]
  dtype: Dtype
  make: () => TensorData
}

/** What the writers accept: a tensor in memory or a lazy one. */
export type TensorSource = TensorToWrite | LazyTensor

export interface WriteOptions {
  /** String metadata stored under `__metadata__`; `{ format: 'pt' }` by default (transformers checks it). */
  metadata?: Record<string, string>
  /** Storage type of float32 tensors that name none. @defaultValue 'F32' */
  floatDtype?: 'F32' | 'F16' | 'BF16'
}

/** Byte size a tensor takes in a file with these options. */
export function storedBytes(t: TensorSource, floatDtype: WriteOptions['floatDtype'] = 'F32'): number {
  return t.shape.reduce((a, b) => a * b, 1) * dtypeBytes[storedDtype(t, floatDtype)]
}

function storedDtype(t: TensorSource, floatDtype: WriteOptions['floatDtype'] = 'F32'): Dtype {
  if ('make' in t) return t.dtype
  return t.dtype ?? (t.data instanceof Float32Array ? floatDtype : nativeDtype(t.data))
}

/**
 * Writes tensors (in the iteration order given) to one file, atomically. The header is padded
 * with spaces to a multiple of 8 bytes, as the reference implementation does, so tensor data
 * stays aligned.
 */
export async function writeSafetensors(file: string, tensors: Iterable<readonly [string, TensorSource]>, options: WriteOptions = {}): Promise<void> {
  const list = [...tensors]
  const header: Record<string, unknown> = { __metadata__: options.metadata ?? { format: 'pt' } }
  let offset = 0
  for (const [name, t] of list) {
    const count = t.shape.reduce((a, b) => a * b, 1)
    if (!('make' in t) && count !== t.data.length) throw new Error(`tensor ${JSON.stringify(name)}: shape ${JSON.stringify(t.shape)} holds ${count} values but data has ${t.data.length}`)
    if (name === '__metadata__' || Object.hasOwn(header, name)) throw new Error(`tensor name ${JSON.stringify(name)} is reserved or repeated`)
    const dtype = storedDtype(t, options.floatDtype)
    const bytes = count * dtypeBytes[dtype]
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] }
    offset += bytes
  }
  let json = JSON.stringify(header)
  const length = Buffer.byteLength(json)
  json += ' '.repeat((8 - (length % 8)) % 8)
  const headerBytes = Buffer.from(json)
  const prefix = Buffer.alloc(8)
  prefix.writeBigUInt64LE(BigInt(headerBytes.length))
  await withAtomicFile(file, async (h) => {
    await h.write(prefix)
    await h.write(headerBytes)
    for (const [name, t] of list) {
      const data = 'make' in t ? t.make() : t.data
      if (data.length !== t.shape.reduce((a, b) => a * b, 1)) throw new Error(`tensor ${JSON.stringify(name)}: made ${data.length} values for shape ${JSON.stringify(t.shape)}`)
      const bytes = encode(data, storedDtype(t, options.floatDtype))
      let done = 0
      while (done < bytes.byteLength) done += (await h.write(bytes, done, bytes.byteLength - done)).bytesWritten
    }
  })
}
