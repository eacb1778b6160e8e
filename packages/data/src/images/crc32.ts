// CRC-32 (ISO 3309, the polynomial 0xEDB88320 reflected), as PNG chunks carry it. Written here because
// node:zlib's crc32 is only in Node ≥ 20.15.
const table = ((): Uint32Array => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()

/** CRC-32 of `parts` taken as one byte string. */
export function crc32(...parts: Uint8Array[]): number {
  let c = 0xffffffff
  for (const bytes of parts) for (const b of bytes) c = table[(c ^ b) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
