import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { firstInvalidUtf8, readLines } from '@tunekit/data'
import { tempDir } from './helpers.ts'

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => (tmp = await tempDir()))
afterAll(() => tmp.done())

const linesOf = async (path: string): Promise<string[]> => {
  const out: string[] = []
  for await (const { line } of readLines(path)) out.push(line)
  return out
}

describe('strict UTF-8', () => {
  test('firstInvalidUtf8 finds overlong forms, surrogates, stray and cut-short sequences', () => {
    const at = (...bytes: number[]): number => firstInvalidUtf8(Uint8Array.from(bytes))
    expect(at(0x61, 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80)).toBe(-1) // a é 😀
    expect(at(0x61, 0xc0, 0x80)).toBe(1) // overlong NUL
    expect(at(0x61, 0xe0, 0x80, 0x80)).toBe(1) // overlong 3-byte form
    expect(at(0xed, 0xa0, 0x80)).toBe(0) // a UTF-16 surrogate
    expect(at(0xf4, 0x90, 0x80, 0x80)).toBe(0) // beyond U+10FFFF
    expect(at(0x61, 0x80)).toBe(1) // a continuation byte with no lead
    expect(at(0x61, 0x62, 0xe2, 0x82)).toBe(2) // cut short by the end
    expect(at(0xe9, 0x74, 0xe9)).toBe(0) // Latin-1 "été"
  })

  test('characters that straddle a 1 MiB read chunk decode exactly, and \\r\\n split across chunks is one break', async () => {
    // 'a' * (2^20 - 1) puts é's two bytes on both sides of the first chunk edge, 😀's four bytes on the second.
    const text = `${'a'.repeat((1 << 20) - 1)}é\r\n${'b'.repeat((1 << 20) - 5)}😀x\r\nlast\rlone cr\n`
    const path = join(tmp.dir, 'edges.jsonl')
    await writeFile(path, text)
    expect(await linesOf(path)).toEqual(text.split(/\r\n|\r|\n/).slice(0, -1))
    // the \r of a \r\n as the last byte of a chunk
    const crEdge = `${'c'.repeat((1 << 20) - 1)}\r\nnext\n`
    await writeFile(path, crEdge)
    expect((await linesOf(path)).map((l) => l.length)).toEqual([(1 << 20) - 1, 4])
  })

  test('a BOM on line 1 is skipped; one elsewhere is text', async () => {
    const path = join(tmp.dir, 'bom.jsonl')
    await writeFile(path, '\uFEFF{"a":1}\n\uFEFF{"b":2}\n')
    expect(await linesOf(path)).toEqual(['{"a":1}', '\uFEFF{"b":2}'])
  })

  test('an invalid byte past the first chunk is named by its file offset and line', async () => {
    const path = join(tmp.dir, 'late.jsonl')
    const head = `${'{"t":"ok"}\n'.repeat(100_000)}` // 1.1 MB: the bad byte is in the second chunk
    await writeFile(path, Buffer.concat([Buffer.from(head), Buffer.from('{"t":"'), Buffer.from([0xff]), Buffer.from('"}\n')]))
    await expect(linesOf(path)).rejects.toMatchObject({
      issues: [{ code: 'TK314', path: 'data.source.path', value: path, message: `"${path}" is not valid UTF-8: byte offset ${head.length + 6} (line 100001) holds 0xFF 0x22 0x7D 0x0A, which no UTF-8 text contains` }],
    })
  })

  test('a file that ends inside a multi-byte character is invalid at that character', async () => {
    const path = join(tmp.dir, 'cut.jsonl')
    await writeFile(path, Buffer.concat([Buffer.from('{"t":"caf'), Buffer.from([0xc3])]))
    await expect(linesOf(path)).rejects.toMatchObject({ issues: [{ code: 'TK314', message: expect.stringContaining('byte offset 9 (line 1) holds 0xC3') }] })
  })
})
