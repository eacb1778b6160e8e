// Compile's reads and the source node's files come from one listing, so a key covers exactly the
// files the source reads; a dataset_info entry's file_name narrows both and enters the key.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compile, defineRecipe, file, getNode, type FileSource, type Graph } from '@tunekit/core'
import { readSource } from '@tunekit/data'
import { tempDir } from './helpers.ts'

const row = (q: string): string => `${JSON.stringify({ instruction: q, output: 'a' })}\n`

const recipe = (source: FileSource, format: 'alpaca' | { kind: 'dataset-info'; file: string; name: string } = 'alpaca') =>
  defineRecipe({ name: 'files', model: { id: 'acme/chat-7b', family: 'mistral' }, data: { source, format } })

const readPaths = (g: Graph): string[] => getNode(g, 'source').reads.map((r) => r.path)

describe('the data files of a folder', () => {
  it('are the same for the key and the source node: links followed, hidden folders and dataset_info.json left out', async () => {
    const dir = tempDir('files')
    const outside = tempDir('outside')
    mkdirSync(join(dir, 'data/.git'), { recursive: true })
    writeFileSync(join(dir, 'data/a.jsonl'), row('a'))
    writeFileSync(join(dir, 'data/b.ndjson'), row('b'))
    writeFileSync(join(dir, 'data/.git/c.jsonl'), row('hidden'))
    writeFileSync(join(dir, 'data/dataset_info.json'), '{}')
    writeFileSync(join(outside, 'd.jsonl'), row('linked file'))
    mkdirSync(join(outside, 'more'))
    writeFileSync(join(outside, 'more/e.jsonl'), row('linked folder'))
    symlinkSync(join(outside, 'd.jsonl'), join(dir, 'data/d.jsonl'))
    symlinkSync(join(outside, 'more'), join(dir, 'data/more'))
    const g = await compile(recipe(file('data')), { baseDir: dir })
    const read: string[] = []
    for await (const item of readSource({ kind: 'file', path: 'data' }, { baseDir: dir })) if ('record' in item) read.push(String(item.record.instruction))
    expect(readPaths(g).map((p) => p.slice(dir.length + 1))).toEqual(['data/a.jsonl', 'data/b.ndjson', 'data/d.jsonl', 'data/more/e.jsonl'])
    expect(read).toEqual(['a', 'b', 'linked file', 'linked folder'])
  })

  it("with a dataset_info entry's file_name, only that file is read and its name is in the source key", async () => {
    const dir = tempDir('info')
    mkdirSync(join(dir, 'data'))
    writeFileSync(join(dir, 'data/a.jsonl'), row('a'))
    writeFileSync(join(dir, 'data/b.jsonl'), row('b'))
    const info = (fileName: string): void => writeFileSync(join(dir, 'data/dataset_info.json'), JSON.stringify({ mine: { file_name: fileName } }))
    const r = recipe(file('data'), { kind: 'dataset-info', file: 'data/dataset_info.json', name: 'mine' })
    info('a.jsonl')
    const a = await compile(r, { baseDir: dir })
    info('b.jsonl')
    const b = await compile(r, { baseDir: dir })
    expect([readPaths(a), readPaths(b)]).toEqual([[join(dir, 'data/a.jsonl')], [join(dir, 'data/b.jsonl')]])
    expect(getNode(b, 'source').params.datasetInfo).toEqual({ file: 'data/dataset_info.json', name: 'mine', fileName: 'b.jsonl' })
    expect(getNode(a, 'source').key).not.toBe(getNode(b, 'source').key)
    // without a format that names a file, the params (and so the keys) are what they always were
    expect(Object.keys(getNode(await compile(recipe(file('data')), { baseDir: dir }), 'source').params).sort()).toEqual(['source'])
  })
})
