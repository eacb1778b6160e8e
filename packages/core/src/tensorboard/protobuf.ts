// A tiny protobuf encoder: just the field kinds TensorBoard's Event and Summary messages need.
// A field is its key (field number << 3 | wire type) as a varint, then the value; a message is
// its fields back to back. https://protobuf.dev/programming-guides/encoding/

const WIRE = { varint: 0, fixed64: 1, bytes: 2, fixed32: 5 } as const

/** A non-negative integer as a base-128 varint (7 bits a byte, low bits first). Exact up to 2^53. */
export function varint(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`varint: ${value} is not a non-negative safe integer`)
  const out: number[] = []
  let v = value
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80)
    v = Math.floor(v / 0x80)
  }
  out.push(v)
  return Uint8Array.from(out)
}

const key = (field: number, wire: number): Uint8Array => varint(field * 8 + wire)

/** Fields (or any byte strings) back to back: a message. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** An `int64` / `uint64` / enum field (varint). */
export const varintField = (field: number, value: number): Uint8Array => concat([key(field, WIRE.varint), varint(value)])

/** A `double` field: 8 bytes, little-endian IEEE 754. */
export function doubleField(field: number, value: number): Uint8Array {
  const bytes = new Uint8Array(8)
  new DataView(bytes.buffer).setFloat64(0, value, true)
  return concat([key(field, WIRE.fixed64), bytes])
}

/** A `float` field: 4 bytes, little-endian IEEE 754 (the value rounded to float32). */
export function floatField(field: number, value: number): Uint8Array {
  const bytes = new Uint8Array(4)
  new DataView(bytes.buffer).setFloat32(0, value, true)
  return concat([key(field, WIRE.fixed32), bytes])
}

/** A `bytes` or embedded-message field: its length as a varint, then the bytes. */
export const bytesField = (field: number, value: Uint8Array): Uint8Array => concat([key(field, WIRE.bytes), varint(value.length), value])

/** A `string` field (UTF-8). */
export const stringField = (field: number, value: string): Uint8Array => bytesField(field, new TextEncoder().encode(value))
