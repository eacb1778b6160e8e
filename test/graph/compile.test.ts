import { cpSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compile, extendRecipe, defineRecipe, file, findModelDir, hub, plan, renderGraph, type Graph } from '@tunekit/core'
import { tempDir, tinyRecipe } from './helpers.ts'

const keys = (g: Graph): Record<string, string> => Object.fromEntries(g.nodes.map((n) => [n.id, n.key]))
const changed = (a: Graph, b: Graph): string[] => a.nodes.filter((n) => keys(b)[n.id] !== n.key).map((n) => n.id)

function fileRecipe(dataPath: string, modelPath?: string) {
  return defineRecipe({
    name: 'files',
    model: { id: 'acme/chat-7b', family: 'mistral', ...(modelPath ? { path: modelPath } : {}) },
    data: { source: file(dataPath), format: 'alpaca', maxLength: 128 },
  })
}

describe('compile', () => {
  it('builds the node table of docs/architecture.md in topological order', async () => {
    const g = await compile(tinyRecipe({ output: { samples: ['hi'] } }), { baseDir: tempDir('c') })
    expect(g.nodes.map((n) => [n.id, n.inputs, n.runsOn])).toEqual([
      ['model', [], 'data'],
      ['source', [], 'data'],
      ['format', ['source'], 'data'],
      ['tokenize', ['format', 'model'], 'data'],
      ['split', ['tokenize'], 'data'],
      ['collate', ['split'], 'data'],
      ['train', ['model', 'tokenize', 'split', 'collate'], 'backend'],
      // the default split holds out 5%: the eval node reports the trained model's eval loss
      ['eval', ['model', 'train', 'tokenize', 'split', 'collate'], 'backend'],
      ['merge', ['model', 'train', 'tokenize'], 'backend'],
      ['generate', ['merge', 'tokenize'], 'backend'],
    ])
    expect(g.nodes.every((n) => /^[0-9a-f]{64}$/.test(n.key))).toBe(true)
    // The model node params leave out what only training needs; a random model reads no file.
    expect(Object.keys(g.nodes[0]!.params).sort()).toEqual(['dtype', 'family', 'id', 'random', 'revision'])
    expect(g.nodes[0]!.reads).toEqual([])
    expect(JSON.parse(JSON.stringify(g))).toEqual(g)
    const noMerge = await compile(tinyRecipe({ output: { merge: false, samples: ['hi'] } }), { baseDir: tempDir('c') })
    expect(noMerge.nodes.map((n) => n.id)).toEqual(['model', 'source', 'format', 'tokenize', 'split', 'collate', 'train', 'eval', 'generate'])
    expect(noMerge.nodes.at(-1)!.inputs).toEqual(['model', 'train', 'tokenize'])
  })

  it('a learning-rate change changes only train, eval, merge and generate', async () => {
    const base = tinyRecipe({ output: { samples: ['hi'] } })
    const dir = tempDir('c')
    const a = await compile(base, { baseDir: dir })
    const b = await compile(extendRecipe(base, { args: { learningRate: 1e-3 } }), { baseDir: dir })
    expect(changed(a, b)).toEqual(['train', 'eval', 'merge', 'generate'])
    const c = await compile(extendRecipe(base, { data: { maxLength: 32 } }), { baseDir: dir })
    expect(changed(a, c)).toEqual(['tokenize', 'split', 'collate', 'train', 'eval', 'merge', 'generate'])
    const d = await compile(extendRecipe(base, { args: { batchSize: 4 } }), { baseDir: dir })
    expect(changed(a, d)).toEqual(['collate', 'train', 'eval', 'merge', 'generate'])
  })

  it('output.gguf adds an export node after merge, keyed by its types as a set, the name and the merged model', async () => {
    const dir = tempDir('c')
    const base = tinyRecipe({ output: { gguf: ['q8_0', 'f16'] } })
    const a = await compile(base, { baseDir: dir })
    const node = a.nodes.at(-1)!
    expect([node.id, node.inputs, node.runsOn, node.params]).toEqual(['export', ['merge'], 'data', { gguf: ['f16', 'q8_0'], name: 'tiny' }])
    expect(keys(await compile(tinyRecipe({ output: { gguf: ['f16', 'q8_0', 'f16'] } }), { baseDir: dir }))).toEqual(keys(a))
    expect(changed(a, await compile(tinyRecipe({ output: { gguf: ['q4_0'] } }), { baseDir: dir }))).toEqual(['export'])
    expect(changed(a, await compile(extendRecipe(base, { name: 'renamed' }), { baseDir: dir }))).toEqual(['export'])
    expect(changed(a, await compile(extendRecipe(base, { args: { learningRate: 1e-3 } }), { baseDir: dir }))).toEqual(['train', 'eval', 'merge', 'export'])
    expect((await compile(tinyRecipe(), { baseDir: dir })).nodes.some((n) => n.kind === 'export')).toBe(false)
    // the plan counts the files' disk: 2 + 34/32 bytes a weight
    const disk = plan(a, { cacheDir: join(dir, 'cache') }).disk!
    const merged = disk.parts.find((p) => p.name === 'merged')!
    expect(disk.parts.find((p) => p.name === 'gguf')).toMatchObject({ nodes: ['export'], bytes: Math.round((merged.bytes / 4) * (2 + 34 / 32)) })
  })

  it('hashes data files by content, not path, and remembers hashes by path, size and mtime', async () => {
    const root = tempDir('c')
    const data = join(root, 'data')
    mkdirSync(data)
    writeFileSync(join(data, 'a.jsonl'), '{"instruction":"hi","output":"hello"}\n')
    writeFileSync(join(data, 'notes.txt'), 'not data')
    const cacheDir = join(root, 'cache')
    const g1 = await compile(fileRecipe('data'), { baseDir: root, cacheDir })
    const source = g1.nodes.find((n) => n.id === 'source')!
    expect(source.reads.map((r) => r.path)).toEqual([join(data, 'a.jsonl')])
    expect(Object.keys(JSON.parse(readFileSync(join(cacheDir, 'file-hashes.json'), 'utf8')))).toContain(join(data, 'a.jsonl'))

    // The same bytes somewhere else give the same keys.
    const moved = tempDir('c')
    cpSync(data, join(moved, 'data'), { recursive: true })
    expect(keys(await compile(fileRecipe('data'), { baseDir: moved }))).toEqual(keys(g1))

    // New bytes (another size) give new keys from source on; the model keeps its key.
    writeFileSync(join(data, 'a.jsonl'), '{"instruction":"hi","output":"hello there"}\n')
    utimesSync(join(data, 'a.jsonl'), 1_700_000_000, 1_700_000_000) // whole seconds: exact on every file system
    const g2 = await compile(fileRecipe('data'), { baseDir: root, cacheDir })
    expect(changed(g1, g2)).toEqual(['source', 'format', 'tokenize', 'split', 'collate', 'train', 'eval', 'merge'])

    // Same size and mtime: the memo answers without reading (which is why it keys on both).
    writeFileSync(join(data, 'a.jsonl'), '{"instruction":"hi","output":"HELLO THERE"}\n')
    utimesSync(join(data, 'a.jsonl'), 1_700_000_000, 1_700_000_000)
    expect(keys(await compile(fileRecipe('data'), { baseDir: root, cacheDir }))).toEqual(keys(g2))
  })

  it('reads config.json and tokenizer files of a local model; missing ones are marked', async () => {
    const root = tempDir('c')
    writeFileSync(join(root, 'a.jsonl'), '{"instruction":"hi","output":"hello"}\n')
    const model = join(root, 'model')
    mkdirSync(model)
    writeFileSync(join(model, 'config.json'), '{"model_type":"mistral","hidden_size":64}')
    writeFileSync(join(model, 'tokenizer.json'), '{"model":{}}')
    const g1 = await compile(fileRecipe('a.jsonl', 'model'), { baseDir: root })
    expect(g1.nodes[0]!.reads.map((r) => [r.path.slice(root.length), r.hash === 'missing'])).toEqual([
      ['/model/config.json', false], ['/model/tokenizer.json', false], ['/model/tokenizer_config.json', true],
    ])
    writeFileSync(join(model, 'tokenizer_config.json'), '{"chat_template":"x"}')
    const g2 = await compile(fileRecipe('a.jsonl', 'model'), { baseDir: root })
    expect(changed(g1, g2)).toEqual(['model', 'tokenize', 'split', 'collate', 'train', 'eval', 'merge'])
    // Without weights anywhere, compile still works: every model read is 'missing'.
    const g3 = await compile(fileRecipe('a.jsonl'), { baseDir: root, env: { HF_HOME: join(root, 'nohf') } })
    expect(g3.nodes[0]!.reads.map((r) => r.hash)).toEqual(['missing', 'missing', 'missing'])
  })

  it('finds models by path, TUNEKIT_MODEL_PATH and the Hub cache layout', () => {
    const root = tempDir('hub')
    const hub = join(root, 'hf', 'hub', 'models--acme--chat-7b')
    mkdirSync(join(hub, 'refs'), { recursive: true })
    mkdirSync(join(hub, 'snapshots', 'abc123'), { recursive: true })
    writeFileSync(join(hub, 'refs', 'main'), 'abc123\n')
    const model = { id: 'acme/chat-7b', revision: 'main' }
    expect(findModelDir(model, root, { HF_HOME: join(root, 'hf') }).dir).toBe(join(hub, 'snapshots', 'abc123'))
    expect(findModelDir({ ...model, revision: 'abc123' }, root, { HF_HUB_CACHE: join(root, 'hf', 'hub') }).dir).toBe(join(hub, 'snapshots', 'abc123'))
    expect(findModelDir({ ...model, revision: 'v2' }, root, { HF_HOME: join(root, 'hf') })).toEqual({ dir: null, looked: [join(hub, 'snapshots', 'v2')] })
    mkdirSync(join(root, 'local'))
    expect(findModelDir(model, root, { TUNEKIT_MODEL_PATH: join(root, 'local'), HF_HOME: join(root, 'hf') }).dir).toBe(join(root, 'local'))
    expect(findModelDir({ ...model, path: 'local' }, root, {}).dir).toBe(join(root, 'local'))
  })
})

describe('compile with a Hub dataset', () => {
  it('hashes the files of the cached snapshot, which link to blobs', async () => {
    const root = tempDir('hubdata')
    const repo = join(root, 'hf', 'hub', 'datasets--acme--chats')
    mkdirSync(join(repo, 'blobs'), { recursive: true })
    mkdirSync(join(repo, 'refs'))
    mkdirSync(join(repo, 'snapshots', 'c0ffee', 'data'), { recursive: true })
    writeFileSync(join(repo, 'refs', 'main'), 'c0ffee')
    writeFileSync(join(repo, 'blobs', 'b1'), '{"text":"<|im_start|>user\\nhi<|im_end|>"}\n')
    symlinkSync(join(repo, 'blobs', 'b1'), join(repo, 'snapshots', 'c0ffee', 'data', 'train.jsonl'))
    const recipe = defineRecipe({ model: { id: 'acme/chat-7b', family: 'mistral' }, data: { source: hub('acme/chats'), format: 'chatml-text' } })
    const env = { HF_HOME: join(root, 'hf') }
    const g = await compile(recipe, { baseDir: root, env })
    const source = g.nodes.find((n) => n.id === 'source')!
    expect(source.reads.map((r) => r.path)).toEqual([join(repo, 'snapshots', 'c0ffee', 'data', 'train.jsonl')])
    expect(source.reads[0]!.hash).toMatch(/^[0-9a-f]{64}$/)
    const absent = await compile(recipe, { baseDir: root, env: { HF_HOME: join(root, 'none') } })
    expect(absent.nodes.find((n) => n.id === 'source')!.reads.map((r) => r.hash)).toEqual(['missing'])
  })
})

describe('renderGraph', () => {
  it('draws mermaid, dot and json', async () => {
    const g = await compile(tinyRecipe(), { baseDir: tempDir('r') })
    const mermaid = renderGraph(g, 'mermaid', { cached: new Set(['model', 'source']) })
    expect(mermaid.split('\n')[0]).toBe('flowchart TD')
    expect(mermaid).toContain(`tokenize["tokenize<br/><small>data · ${g.nodes[3]!.key.slice(0, 12)}</small>"]`)
    expect(mermaid).toContain('  collate --> train\n')
    expect(mermaid).toContain('  class model,source cached')
    const dot = renderGraph(g, 'dot')
    expect(dot.startsWith('digraph "tiny" {')).toBe(true)
    expect(dot).toContain('  "model" -> "tokenize";')
    expect(dot.match(/->/g)!.length).toBe(g.nodes.reduce((n, node) => n + node.inputs.length, 0))
    expect(JSON.parse(renderGraph(g, 'json'))).toEqual(g)
  })
})
