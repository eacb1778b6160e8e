/** Whether this host stores numbers little-endian (the shards' byte order): then typed arrays are written as they are. */
export const isLittleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1
