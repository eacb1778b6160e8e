import { parseJsonText, TunekitError } from '@tunekit/core'
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, openModelWeights, openSafetensors, readHeader, readHeaderSync, readSafetensors, writeModelWeights, writeSafetensors } from '@tunekit/hf'
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const tmp = () => mkdtemp(join(tmpdir(), 'tk-st-'))

/** Builds a safetensors file from a raw header object and a data size, to forge bad files. */
function forge(header: unknown, dataBytes: number, opts: { lengthOverride?: bigint; headerText?: string } = {}): Buffer {
  const text = Buffer.from(opts.headerText ?? JSON.stringify(header))
  const prefix = Buffer.alloc(8)
  prefix.writeBigUInt64LE(opts.lengthOverride ?? BigInt(text.length))
  return Buffer.concat([prefix, text, Buffer.alloc(dataBytes)])
}

async function errorOf(bytes: Buffer): Promise<TunekitError> {
  const file = join(await tmp(), 'bad.safetensors')
  await writeFile(file, bytes)
  const e = await openSafetensors(file).then(() => undefined, (err: unknown) => err)
  expect(e).toBeInstanceOf(TunekitError)
  expect((e as TunekitError).code).toBe('TK309')
  return e as TunekitError
}

describe('safetensors', () => {
  it('round-trips F32, BF16, F16 and integer tensors with metadata', async () => {
    const file = join(await tmp(), 'a.safetensors')
    const w = Float32Array.from([1, -2.5, 3.25, 0.1, 65504, -0])
    await writeSafetensors(
      file,
      [
        ['w', { shape: [2, 3], data: w }],
        ['w16', { shape: [6], data: w, dtype: 'F16' }],
        ['wbf', { shape: [3, 2], data: w, dtype: 'BF16' }],
        ['ids', { shape: [3], data: Int32Array.from([7, -1, 2 ** 30]) }],
        ['big', { shape: [2], data: BigInt64Array.from([1n, -(2n ** 40n)]) }],
        ['mask', { shape: [2], data: Uint8Array.from([0, 1]) }],
      ],
      { metadata: { format: 'pt', note: 'x' } },
    )
    const bytes = await readFile(file)
    expect(Number(bytes.readBigUInt64LE(0)) % 8).toBe(0) // header padded to 8 bytes
    const { tensors, metadata } = await readSafetensors(file)
    expect(metadata).toEqual({ format: 'pt', note: 'x' })
    expect(tensors.get('w')).toEqual({ shape: [2, 3], data: w })
    expect(tensors.get('w16')!.data).toEqual(f16ToF32(f32ToF16(w)))
    expect(Array.from(tensors.get('w16')!.data as Float32Array).slice(0, 3)).toEqual([1, -2.5, 3.25])
    expect(tensors.get('wbf')!.data).toEqual(bf16ToF32(f32ToBf16(w)))
    expect(tensors.get('ids')!.data).toEqual(Int32Array.from([7, -1, 2 ** 30]))
    expect(tensors.get('big')!.data).toEqual(BigInt64Array.from([1n, -(2n ** 40n)]))
    expect(tensors.get('mask')!.data).toEqual(Uint8Array.from([0, 1]))
  })

  it('converts half precision exactly: rounding to nearest even, subnormals, overflow', () => {
    const x = Float32Array.from([1 + 2 ** -11, 1 + 3 * 2 ** -11, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 70000, NaN, -Infinity])
    expect(Array.from(f16ToF32(f32ToF16(x)))).toEqual([1, 1 + 2 ** -9, 2 ** -24, 0, 2 ** -24, Infinity, NaN, -Infinity])
    const y = Float32Array.from([1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.140625])
    expect(Array.from(bf16ToF32(f32ToBf16(y)))).toEqual([1, 1 + 2 ** -6, 3.140625])
  })

  it('reads tensors lazily by name', async () => {
    const file = join(await tmp(), 'b.safetensors')
    await writeSafetensors(file, [['a', { shape: [2], data: Float32Array.from([1, 2]) }], ['b', { shape: [1], data: Float32Array.from([3]) }]])
    const f = await openSafetensors(file)
    expect(f.names).toEqual(['a', 'b'])
    expect((await f.readFloat('b')).data).toEqual(Float32Array.from([3]))
    await expect(f.read('c')).rejects.toThrow('has no tensor "c"')
    await f.close()
  })

  it('rejects malformed files before allocating, with one clean error each', async () => {
    const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }
    const msg = async (b: Buffer) => (await errorOf(b)).issues[0]!.message
    const short = await errorOf(Buffer.alloc(5))
    expect(short.message.replace(short.issues[0]!.path, '<file>')).toMatchInlineSnapshot(`
      "Malformed safetensors file
      ✖ TK309 bad.safetensors: the file has 5 bytes, fewer than the 8-byte header length → at <file>
        fix: The file is truncated or not a safetensors file; download or write it again."
    `)
    expect(await msg(forge(ok, 8, { lengthOverride: 2n ** 62n }))).toMatchInlineSnapshot(`"bad.safetensors: the header length 4611686018427387904 is larger than the rest of the file (62 bytes)"`)
    expect(await msg(forge(ok, 4))).toMatchInlineSnapshot(`"bad.safetensors: tensor "a" ends at byte 8 of the data but the file holds only 4 bytes of data (truncated?)"`)
    expect(await msg(forge(ok, 8, { headerText: '{"a": {"dtype": "F32"' }))).toMatch(/the header is not valid JSON/)
    expect(await msg(forge({ a: { dtype: 'Q4', shape: [2], data_offsets: [0, 8] } }, 8))).toMatchInlineSnapshot(`"bad.safetensors: tensor "a" has unknown dtype "Q4"; known: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL"`)
    expect(await msg(forge({ a: { dtype: 'F32', shape: [2 ** 30, 2 ** 30, 2 ** 30], data_offsets: [0, 8] } }, 8))).toMatchInlineSnapshot(`"bad.safetensors: tensor "a" has a shape too large to address: [1073741824,1073741824,1073741824]"`)
    expect(await msg(forge({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8))).toMatchInlineSnapshot(`"bad.safetensors: tensor "a" has shape [3] of F32 (12 bytes) but data_offsets span 8 bytes"`)
    expect(await msg(forge({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8))).toMatchInlineSnapshot(`"bad.safetensors: tensor "b" overlaps the previous tensor (begins at 4, previous ends at 8)"`)
    expect(await msg(forge({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8))).toMatchInlineSnapshot(`"bad.safetensors: a gap of 4 bytes precedes tensor "a""`)
    expect(await msg(forge(ok, 12))).toMatchInlineSnapshot(`"bad.safetensors: the tensors end at byte 70 but the file has 74 bytes"`)
    expect(await msg(forge(ok, 8, { headerText: '{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}' }))).toMatchInlineSnapshot(`"bad.safetensors: tensor "a" appears twice in the header"`)
    expect(await msg(forge({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, 8))).toMatch(/invalid shape \[-2\]/)
    expect(await msg(forge([1, 2], 0))).toMatch(/not a JSON object/)
  })

  it('survives random corruption: every outcome is a value or a TK309 error', async () => {
    const dir = await tmp()
    const file = join(dir, 'c.safetensors')
    await writeSafetensors(file, [['a', { shape: [4, 4], data: new Float32Array(16).fill(0.5) }], ['b', { shape: [3], data: Int32Array.from([1, 2, 3]) }]])
    const good = await readFile(file)
    let state = 12345
    const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0)
    for (let trial = 0; trial < 200; trial++) {
      const bytes = Buffer.from(good)
      const cut = trial % 3 === 0 ? next() % bytes.length : bytes.length
      for (let k = 0; k < 3; k++) bytes[next() % Math.min(bytes.length, 120)] = next() & 0xff
      const bad = join(dir, `t${trial}.safetensors`)
      await writeFile(bad, bytes.subarray(0, cut))
      const outcome = await readSafetensors(bad).then(() => 'ok', (e: unknown) => (e instanceof TunekitError ? e.code : String(e)))
      expect(['ok', 'TK309']).toContain(outcome)
    }
  })
})

describe('header-only reads for the planner', () => {
  it('readHeaderSync agrees with readHeader on every corrupted file: the same header or the same TK309 message', async () => {
    const dir = await tmp()
    const file = join(dir, 'h.safetensors')
    await writeSafetensors(file, [['a', { shape: [4, 4], data: new Float32Array(16).fill(0.5) }], ['b', { shape: [3], data: Int32Array.from([1, 2, 3]) }]])
    const good = await readFile(file)
    let state = 777
    const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0)
    const outcome = (run: () => unknown): unknown => {
      try {
        return run()
      } catch (e) {
        return e instanceof TunekitError ? e.issues[0]!.message : `bug: ${String(e)}`
      }
    }
    for (let trial = 0; trial < 100; trial++) {
      const bytes = Buffer.from(good)
      const cut = trial % 3 === 0 ? next() % bytes.length : bytes.length
      for (let k = 0; k < 3; k++) bytes[next() % Math.min(bytes.length, 120)] = next() & 0xff
      const bad = join(dir, `t${trial}.safetensors`)
      await writeFile(bad, bytes.subarray(0, cut))
      const viaPromise = await readHeader(bad).then((h) => h, (e: unknown) => (e instanceof TunekitError ? e.issues[0]!.message : `bug: ${String(e)}`))
      expect(outcome(() => readHeaderSync(bad))).toEqual(viaPromise)
    }
  })
})

describe('JSON errors name the line, column and character', () => {
  it('turns the parser position (or the end of input) into a line and column', () => {
    expect(parseJsonText('{\n  "a": 1,,\n}')).toMatchInlineSnapshot(`
      {
        "ok": false,
        "position": 11,
        "reason": "not valid JSON at line 2, column 10 (character 11): Expected double-quoted property name",
      }
    `)
    expect(parseJsonText('{"a": [1, 2')).toMatchObject({ ok: false, position: 11, reason: expect.stringMatching(/^not valid JSON at line 1, column 12 \(character 11\): /) })
    expect(parseJsonText('[1]')).toEqual({ ok: true, value: [1] })
  })
})

describe('sharded weights', () => {
  it('writes shards by size with an index, and reads them back tensor by tensor', async () => {
    const dir = await tmp()
    const t = (n: number, v: number) => ({ shape: [n], data: new Float32Array(n).fill(v) })
    const files = await writeModelWeights(dir, [['a', t(100, 1)], ['b', t(100, 2)], ['c', t(300, 3)], ['d', t(10, 4)]], { maxShardSize: '800B' })
    expect(files.sort()).toEqual(['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors', 'model.safetensors.index.json'])
    const index = JSON.parse(await readFile(join(dir, 'model.safetensors.index.json'), 'utf8'))
    expect(index).toEqual({
      metadata: { total_size: 2040 },
      weight_map: { a: 'model-00001-of-00003.safetensors', b: 'model-00001-of-00003.safetensors', c: 'model-00002-of-00003.safetensors', d: 'model-00003-of-00003.safetensors' },
    })
    const w = await openModelWeights(dir)
    expect(w.names).toEqual(['a', 'b', 'c', 'd'])
    expect(w.info('c')).toMatchObject({ dtype: 'F32', shape: [300] })
    expect((await w.readFloat('d')).data[9]).toBe(4)
    await w.close()
    // Re-writing into one file removes the stale shards and the index.
    await writeModelWeights(dir, [['a', t(100, 1)]])
    expect((await readdir(dir)).sort()).toEqual(['model.safetensors'])
  })

  it('says where it looked when a folder has no safetensors weights', async () => {
    const dir = await tmp()
    await writeFile(join(dir, 'pytorch_model.bin'), 'x')
    const e = await openModelWeights(dir).then(() => undefined, (err: unknown) => err as TunekitError)
    expect(e?.code).toBe('TK301')
    expect(e!.issues[0]!.message.replaceAll(dir, '<dir>')).toMatchInlineSnapshot(`"the weights of "<dir>" are not on this machine (looked in <dir>/model.safetensors, <dir>/model.safetensors.index.json (the folder has only pytorch_model.bin weights; tunekit reads safetensors: convert them with transformers save_pretrained(safe_serialization=True)))"`)
  })

  it('refuses an index that points outside the folder', async () => {
    const dir = await tmp()
    await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { a: '../x.safetensors' } }))
    await expect(openModelWeights(dir)).rejects.toThrow(/names "..\/x.safetensors", not a file in the folder/)
  })
})
