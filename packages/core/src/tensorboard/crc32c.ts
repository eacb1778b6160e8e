// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of TFRecord files, and the
// masked form TFRecord stores so that a CRC of data that itself holds CRCs stays well mixed.

const POLY = 0x82f63b78

// 256 entries: the CRC of each byte value, for a byte-at-a-time table lookup
const TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1
  return c
})

/** CRC-32C of `data` (check value: "123456789" → 0xe3069283). */
export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff
  for (const b of data) crc = TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}

/** TFRecord's masked CRC: rotated right by 15 bits, plus the constant 0xa282ead8 (mod 2^32). */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data)
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0
}
