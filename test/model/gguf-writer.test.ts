// The GGUF v3 container and the quantisers, read back by the reference reader (gguf-py 0.19's
// GGUFReader) and compared with its quantisers, which are bit-exact with ggml's C reference.
import { encodeTensor, ggufHeader, quantizeQ4_0, quantizeQ8_0, writeGguf, type GgufValue } from '@tunekit/hf'
import { existsSync, readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runReference } from '../python.ts'
import { tmp } from './gguf-fixture.ts'

// Values with every awkward case a block can hold: a tie of magnitudes, exact halves, zeros,
// subnormal and large scales, and a block of only zeros.
function awkwardValues(): Float32Array {
  const v = new Float32Array(32 * 8)
  for (let i = 0; i < v.length; i++) v[i] = Math.sin(i * 12.9898) * 43758.5453 % 1
  v.set([0.5, -0.5, 0.25, 1, -1, 0.75, -0.125, 0], 0) // block 0: max and -max tie; 127/128-style halves
  for (let i = 32; i < 64; i++) v[i] = (i - 48) / 16 // block 1: exact multiples of the scale
  v.fill(0, 64, 96) // block 2: all zero (scale 0)
  for (let i = 96; i < 128; i++) v[i]! *= 1e-6 // block 3: scales near f16's subnormals
  for (let i = 128; i < 160; i++) v[i]! *= 3000 // block 4: a large scale
  return v
}

/** Runs the reference reader on a GGUF file with a Python body that sees `r` (the GGUFReader). */
const readWith = (file: string, body: string): unknown =>
  JSON.parse(runReference(`import sys, json, numpy as np, gguf\nr = gguf.GGUFReader(sys.argv[1] if len(sys.argv) > 1 else ${JSON.stringify(file)})\n${body}`))

describe('GGUF quantisers', () => {
  it('write Q8_0 and Q4_0 blocks byte for byte as ggml does', async () => {
    const values = awkwardValues()
    const expected = JSON.parse(
      runReference(
        'import sys, json, numpy as np, gguf\n' +
          'x = np.array(json.load(sys.stdin), dtype=np.float32).reshape(8, 32)\n' +
          'out = {t: gguf.quants.quantize(x, getattr(gguf.GGMLQuantizationType, t)).tobytes().hex() for t in ["Q8_0", "Q4_0", "F16"]}\n' +
          'print(json.dumps(out))',
        JSON.stringify([...values]),
      ),
    ) as Record<string, string>
    expect(Buffer.from(quantizeQ8_0(values)).toString('hex')).toBe(expected.Q8_0)
    expect(Buffer.from(quantizeQ4_0(values)).toString('hex')).toBe(expected.Q4_0)
    expect(Buffer.from(encodeTensor(values, 'F16')).toString('hex')).toBe(expected.F16)
    // block sizes as ggml fixes them: 32 values → 34 bytes (Q8_0), 18 bytes (Q4_0)
    expect([quantizeQ8_0(values).byteLength, quantizeQ4_0(values).byteLength]).toEqual([8 * 34, 8 * 18])
  })

  it('packs Q4_0 nibbles as ggml: value j low, value j + 16 high', () => {
    // max = -8 → d = 1, so q = trunc(x + 8.5) clipped to 15: x = j - 8 for the first half, 7 for the second
    const x = Float32Array.from({ length: 32 }, (_, j) => (j === 0 ? -8 : j < 16 ? j - 8 : 7))
    const block = quantizeQ4_0(x)
    expect([...block.subarray(0, 2)]).toEqual([0x00, 0x3c]) // f16 1.0
    expect([...block.subarray(2)]).toEqual(Array.from({ length: 16 }, (_, j) => (j === 0 ? 0 : j) | (15 << 4)))
  })
})

describe('GGUF writer', () => {
  const metadata: Array<[string, GgufValue]> = [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['t.u8', { type: 'u8', value: 255 }],
    ['t.i8', { type: 'i8', value: -128 }],
    ['t.u16', { type: 'u16', value: 65535 }],
    ['t.i16', { type: 'i16', value: -32768 }],
    ['t.u32', { type: 'u32', value: 4294967295 }],
    ['t.i32', { type: 'i32', value: -2147483648 }],
    ['t.f32', { type: 'f32', value: 0.5 }],
    ['t.bool', { type: 'bool', value: true }],
    ['t.string', { type: 'string', value: 'über ▁ 🚀' }],
    ['t.u64', { type: 'u64', value: 2n ** 63n + 5n }],
    ['t.i64', { type: 'i64', value: -(2n ** 62n) }],
    ['t.f64', { type: 'f64', value: 1e-300 }],
    ['t.array', { type: 'array', itemType: 'string', value: ['a', '', 'ü'] }],
    ['t.floats', { type: 'array', itemType: 'f32', value: [1.5, -2] }],
    ['t.nested', { type: 'array', itemType: 'array', value: [{ type: 'array', itemType: 'i32', value: [1, 2] }, { type: 'array', itemType: 'i32', value: [3] }] }],
  ]
  const weight = Float32Array.from({ length: 64 * 3 }, (_, i) => i / 7 - 10)

  it('writes every metadata type, tensor infos and aligned data that the reference reader reads back', async () => {
    const file = join(await tmp(), 'all.gguf')
    await writeGguf(file, {
      metadata,
      alignment: 64,
      tensors: [
        { name: 'norm.weight', shape: [5], type: 'F32', data: () => encodeTensor(Float32Array.of(1, 2, 3, 4, 5), 'F32') },
        { name: 'w.weight', shape: [3, 64], type: 'Q8_0', data: () => quantizeQ8_0(weight) },
        { name: 'h.weight', shape: [3, 64], type: 'F16', data: () => encodeTensor(weight, 'F16') },
      ],
    })
    const read = readWith(
      file,
      'fields = {k: f.contents() for k, f in r.fields.items() if k.startswith(("general.", "t.")) and k != "t.nested"}\n' +
        'fields = {k: (str(v) if isinstance(v, int) and abs(v) > 2**53 else v) for k, v in fields.items()}\n' +
        'nested = r.fields["t.nested"]\n' +
        'tensors = [[t.name, t.tensor_type.name, [int(n) for n in t.shape], int(t.data_offset) % 64, gguf.quants.dequantize(t.data, t.tensor_type).flatten()[:3].tolist()] for t in r.tensors]\n' +
        'print(json.dumps({"version": int(r.fields["GGUF.version"].contents()), "kv": int(r.fields["GGUF.kv_count"].contents()), "fields": fields, "nested": [t.name for t in nested.types], "alignment": int(r.alignment), "tensors": tensors}))',
    )
    expect(read).toEqual({
      version: 3,
      kv: metadata.length + 1, // + general.alignment
      fields: {
        'general.architecture': 'llama', 'general.alignment': 64,
        't.u8': 255, 't.i8': -128, 't.u16': 65535, 't.i16': -32768, 't.u32': 4294967295, 't.i32': -2147483648,
        't.f32': 0.5, 't.bool': true, 't.string': 'über ▁ 🚀', 't.u64': String(2n ** 63n + 5n), 't.i64': String(-(2n ** 62n)), 't.f64': 1e-300,
        't.array': ['a', '', 'ü'], 't.floats': [1.5, -2],
      },
      nested: ['ARRAY', 'ARRAY', 'INT32'],
      alignment: 64,
      tensors: [
        ['norm.weight', 'F32', [5], 0, [1, 2, 3]],
        ['w.weight', 'Q8_0', [64, 3], 0, expect.any(Array)], // ne: fastest dimension first
        ['h.weight', 'F16', [64, 3], 0, expect.any(Array)],
      ],
    })
    const [, q8, f16] = (read as { tensors: Array<[string, string, number[], number, number[]]> }).tensors
    q8![4].forEach((v, i) => expect(v).toBeCloseTo(weight[i]!, 1))
    f16![4].forEach((v, i) => expect(v).toBeCloseTo(weight[i]!, 2))
  })

  it('leaves no file and no temp file when a tensor cannot be produced', async () => {
    const dir = await tmp()
    const file = join(dir, 'broken.gguf')
    await expect(
      writeGguf(file, { metadata, tensors: [{ name: 'w.weight', shape: [3, 64], type: 'Q8_0', data: () => new Uint8Array(10) }] }),
    ).rejects.toThrow('tensor w.weight: 10 bytes given, Q8_0 [3,64] takes 204')
    expect(existsSync(file)).toBe(false)
    expect(readdirSync(dir)).toEqual([])
  })

  it('starts with the magic, version 3 and the counts, and pads the header to 32 bytes by default', async () => {
    const { header, offsets } = ggufHeader({ metadata: metadata.slice(0, 2), tensors: [
      { name: 'a.weight', shape: [3], type: 'F32', data: () => new Uint8Array(12) },
      { name: 'b.weight', shape: [2, 32], type: 'Q4_0', data: () => new Uint8Array(36) },
    ] })
    expect(Buffer.from(header.subarray(0, 4)).toString('latin1')).toBe('GGUF')
    const view = new DataView(header.buffer, header.byteOffset)
    expect([view.getUint32(4, true), view.getBigUint64(8, true), view.getBigUint64(16, true)]).toEqual([3, 2n, 2n])
    expect(header.byteLength % 32).toBe(0)
    expect(offsets).toEqual([0, 32]) // 12 bytes of F32, padded to 32
    const file = join(await tmp(), 'small.gguf')
    const one = { metadata: metadata.slice(0, 2), tensors: [{ name: 'a.weight', shape: [3], type: 'F32' as const, data: () => new Uint8Array(12) }] }
    await writeGguf(file, one)
    expect((await readFile(file)).byteLength).toBe(ggufHeader(one).header.byteLength + 32) // the last tensor is padded too
  })
})
