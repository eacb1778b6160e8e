// The GGUF container, version 3, as ggml's gguf.cpp reads it (little-endian throughout):
//
//   magic "GGUF" · u32 version = 3 · u64 tensor count · u64 metadata count
//   metadata: string key · u32 value type · value          (strings: u64 byte length + UTF-8 bytes)
//   tensor infos: string name · u32 n_dims · u64 ne[n_dims] · u32 ggml type · u64 offset
//   padding to `general.alignment` (default 32) · tensor data, each tensor starting aligned
//
// `ne` lists dimensions fastest-varying first, so a row-major [rows, cols] tensor is ne = [cols, rows].
// Offsets count from the start of the data section. The file is written to a temp name and renamed.
import { withAtomicFile } from '@tunekit/core'
import { ggmlTypes, type GgmlTypeName } from './quantize.ts'

/** The metadata value types of GGUF, with their numbers in the file. */
export const ggufValueTypes = {
  u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12,
} as const
export type GgufScalarType = Exclude<keyof typeof ggufValueTypes, 'array'>

/** One metadata value, tagged with its GGUF type. Arrays hold scalars of one type, or arrays. */
export type GgufValue =
  | { type: 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64'; value: number }
  | { type: 'u64' | 'i64'; value: number | bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; itemType: GgufScalarType; value: ReadonlyArray<number | bigint | boolean | string> }
  | { type: 'array'; itemType: 'array'; value: ReadonlyArray<GgufValue & { type: 'array' }> }

/** One tensor to write: its llama.cpp name, row-major shape (as numpy / torch), type and bytes. */
export interface GgufTensor {
  name: string
  /** Row-major shape, e.g. `[out, in]` for a linear weight; written reversed as ggml's `ne`. */
  shape: readonly number[]
  type: GgmlTypeName
  /** The encoded bytes (see quantize.ts), produced when the writer reaches the tensor. */
  data: () => Uint8Array | Promise<Uint8Array>
}

export interface GgufContents {
  /** Metadata in the order to write it; keys must be unique. */
  metadata: ReadonlyArray<readonly [string, GgufValue]>
  tensors: readonly GgufTensor[]
  /** Alignment of the data section and of each tensor in bytes; written as `general.alignment` unless 32. @defaultValue 32 */
  alignment?: number
}

export const GGUF_MAGIC = 0x46554747 // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3
export const GGUF_DEFAULT_ALIGNMENT = 32

/** Grows a list of byte chunks; numbers little-endian. */
class ByteSink {
  readonly chunks: Uint8Array[] = []
  length = 0
  private fixed(bytes: number, put: (view: DataView) => void): void {
    const b = new Uint8Array(bytes)
    put(new DataView(b.buffer))
    this.bytes(b)
  }
  bytes(b: Uint8Array): void {
    this.chunks.push(b)
    this.length += b.byteLength
  }
  u8(v: number): void { this.fixed(1, (d) => d.setUint8(0, v)) }
  i8(v: number): void { this.fixed(1, (d) => d.setInt8(0, v)) }
  u16(v: number): void { this.fixed(2, (d) => d.setUint16(0, v, true)) }
  i16(v: number): void { this.fixed(2, (d) => d.setInt16(0, v, true)) }
  u32(v: number): void { this.fixed(4, (d) => d.setUint32(0, v, true)) }
  i32(v: number): void { this.fixed(4, (d) => d.setInt32(0, v, true)) }
  f32(v: number): void { this.fixed(4, (d) => d.setFloat32(0, v, true)) }
  f64(v: number): void { this.fixed(8, (d) => d.setFloat64(0, v, true)) }
  u64(v: number | bigint): void { this.fixed(8, (d) => d.setBigUint64(0, BigInt(v), true)) }
  i64(v: number | bigint): void { this.fixed(8, (d) => d.setBigInt64(0, BigInt(v), true)) }
  string(s: string): void {
    const b = Buffer.from(s, 'utf8')
    this.u64(b.byteLength)
    this.bytes(b)
  }
  pad(alignment: number): void {
    const rest = this.length % alignment
    if (rest !== 0) this.bytes(new Uint8Array(alignment - rest))
  }
}

function writeScalar(sink: ByteSink, type: GgufScalarType, v: number | bigint | boolean | string): void {
  const wrong = (): never => {
    throw new TypeError(`a GGUF ${type} cannot hold ${typeof v} ${String(v)}`)
  }
  switch (type) {
    case 'bool': return typeof v === 'boolean' ? sink.u8(v ? 1 : 0) : wrong()
    case 'string': return typeof v === 'string' ? sink.string(v) : wrong()
    case 'u64': return typeof v === 'number' || typeof v === 'bigint' ? sink.u64(v) : wrong()
    case 'i64': return typeof v === 'number' || typeof v === 'bigint' ? sink.i64(v) : wrong()
    default: return typeof v === 'number' ? sink[type](v) : wrong()
  }
}

function writeValue(sink: ByteSink, value: GgufValue): void {
  if (value.type !== 'array') return writeScalar(sink, value.type, value.value)
  sink.u32(ggufValueTypes[value.itemType])
  sink.u64(value.value.length)
  for (const item of value.value) {
    if (value.itemType === 'array') writeValue(sink, item as GgufValue)
    else writeScalar(sink, value.itemType, item as number | bigint | boolean | string)
  }
}

/** Bytes a tensor of `shape` takes in `type` (rows must hold whole blocks). */
export function tensorBytes(shape: readonly number[], type: GgmlTypeName): number {
  const t = ggmlTypes[type]
  const cols = shape.at(-1) ?? 1
  if (cols % t.blockSize !== 0) throw new RangeError(`a row of ${cols} values is not a whole number of ${type} blocks of ${t.blockSize}`)
  return (shape.reduce((a, b) => a * b, 1) / t.blockSize) * t.blockBytes
}

/** The header, metadata and tensor infos, padded to the alignment; and each tensor's offset. */
export function ggufHeader(contents: GgufContents): { header: Uint8Array; offsets: number[]; alignment: number } {
  const alignment = contents.alignment ?? GGUF_DEFAULT_ALIGNMENT
  const metadata: Array<readonly [string, GgufValue]> = [...contents.metadata]
  if (alignment !== GGUF_DEFAULT_ALIGNMENT && !metadata.some(([k]) => k === 'general.alignment')) metadata.push(['general.alignment', { type: 'u32', value: alignment }])
  const keys = new Set<string>()
  for (const [k] of metadata) {
    if (keys.has(k)) throw new Error(`GGUF metadata key ${k} is given twice`)
    keys.add(k)
  }
  const sink = new ByteSink()
  sink.u32(GGUF_MAGIC)
  sink.u32(GGUF_VERSION)
  sink.u64(contents.tensors.length)
  sink.u64(metadata.length)
  for (const [key, value] of metadata) {
    sink.string(key)
    sink.u32(ggufValueTypes[value.type])
    writeValue(sink, value)
  }
  const offsets: number[] = []
  let offset = 0
  for (const t of contents.tensors) {
    sink.string(t.name)
    sink.u32(t.shape.length)
    for (const n of [...t.shape].reverse()) sink.u64(n) // ggml's ne: fastest dimension first
    sink.u32(ggmlTypes[t.type].id)
    sink.u64(offset)
    offsets.push(offset)
    const bytes = tensorBytes(t.shape, t.type)
    offset += bytes + ((alignment - (bytes % alignment)) % alignment)
  }
  sink.pad(alignment)
  return { header: Buffer.concat(sink.chunks), offsets, alignment }
}

/**
 * Writes a GGUF v3 file: header, metadata, tensor infos, then each tensor's bytes (asked for one
 * at a time, so a model is never held in memory whole), each padded to the alignment. The file
 * appears under `path` only once complete.
 */
export async function writeGguf(path: string, contents: GgufContents): Promise<void> {
  const { header, alignment } = ggufHeader(contents)
  await withAtomicFile(path, async (handle) => {
    await handle.write(header)
    for (const t of contents.tensors) {
      const data = await t.data()
      const expected = tensorBytes(t.shape, t.type)
      if (data.byteLength !== expected) throw new Error(`tensor ${t.name}: ${data.byteLength} bytes given, ${t.type} ${JSON.stringify(t.shape)} takes ${expected}`)
      await handle.write(data)
      const pad = (alignment - (data.byteLength % alignment)) % alignment
      if (pad > 0) await handle.write(new Uint8Array(pad))
    }
  })
}
