import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, afterEach, describe, expect, test, vi } from 'vitest'
import { parquetWriteFile } from 'hyparquet-writer'
import { hubDatasetFiles, readRecords, readSource, runFormat, runSource, type Conversation } from '@tunekit/data'
import { messagesOf, readJsonl, tempDir } from './helpers.ts'

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => (tmp = await tempDir()))
afterAll(() => tmp.done())
afterEach(() => vi.unstubAllEnvs())

const chatml = (q: string, a: string): string => `<|im_start|>user\n${q}<|im_end|>\n<|im_start|>assistant\n${a}<|im_end|>\n`

/** A Hub cache as huggingface_hub writes it: refs/main → commit, snapshots/<commit>/… files. */
async function fakeHubCache(home: string, repo: string, files: Record<string, string | { parquet: string[] }>): Promise<string> {
  const commit = 'a'.repeat(40)
  const repoDir = join(home, 'hub', `datasets--${repo.replace('/', '--')}`)
  await mkdir(join(repoDir, 'refs'), { recursive: true })
  await writeFile(join(repoDir, 'refs', 'main'), commit)
  const snapshot = join(repoDir, 'snapshots', commit)
  for (const [name, content] of Object.entries(files)) {
    const path = join(snapshot, name)
    await mkdir(join(path, '..'), { recursive: true })
    if (typeof content === 'string') await writeFile(path, content)
    else parquetWriteFile({ filename: path, columnData: [{ name: 'text', data: content.parquet, type: 'STRING' }], rowGroupSize: 2 })
  }
  return snapshot
}

describe('files', () => {
  test('parquet is read one row group at a time, in order', async () => {
    const path = join(tmp.dir, 'rows.parquet')
    parquetWriteFile({ filename: path, columnData: [{ name: 'q', data: ['a', 'b', 'c', 'd', 'e'], type: 'STRING' }, { name: 'n', data: [1n, 2n, 3n, 4n, 5n], type: 'INT64' }], rowGroupSize: 2 })
    const items = []
    for await (const item of readRecords(path)) items.push(item)
    expect(items).toEqual(['a', 'b', 'c', 'd', 'e'].map((q, i) => ({ record: { q, n: i + 1 }, line: i + 1 })))
  })

  test('a folder expands to its data files, sorted; limit stops early', async () => {
    const dir = join(tmp.dir, 'folder')
    await mkdir(join(dir, 'sub'), { recursive: true })
    await writeFile(join(dir, 'b.jsonl'), `${JSON.stringify({ text: chatml('two', '2') })}\n`)
    await writeFile(join(dir, 'a.json'), JSON.stringify([{ text: chatml('one', '1') }]))
    await writeFile(join(dir, 'sub', 'c.csv'), `text\n"${chatml('three', '3').replaceAll('"', '""')}"\n`)
    await writeFile(join(dir, 'notes.txt'), 'not data')
    const texts = []
    for await (const item of readSource({ kind: 'file', path: dir }, { baseDir: tmp.dir })) if ('record' in item) texts.push(item.record.text)
    expect(texts).toEqual([chatml('one', '1'), chatml('two', '2'), chatml('three', '3')])
    const limited = []
    for await (const item of readSource({ kind: 'file', path: dir }, { baseDir: tmp.dir, limit: 2 })) limited.push(item)
    expect(limited).toHaveLength(2)
  })

  test('a missing file is DataFileNotFound (TK311) with the path as resolved', async () => {
    const read = async () => {
      for await (const item of readSource({ kind: 'file', path: 'nope.jsonl' }, { baseDir: tmp.dir })) void item
    }
    await expect(read()).rejects.toMatchObject({ issues: [{ code: 'TK311', path: 'data.source.path', value: join(tmp.dir, 'nope.jsonl') }] })
  })

  test('a large JSONL file streams with bounded memory', async () => {
    // 200k records ≈ 20 MB of text: the reader holds one line at a time
    const path = join(tmp.dir, 'large.jsonl')
    const line = `${JSON.stringify({ text: chatml('what is two plus two?', 'four '.repeat(12)) })}\n`
    await writeFile(path, line.repeat(200_000))
    const before = process.memoryUsage().heapUsed
    let count = 0
    let peak = 0
    for await (const item of readRecords(path)) {
      if ('record' in item) count++
      if (count % 20_000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - before)
    }
    expect(count).toBe(200_000)
    expect(peak).toBeLessThan(64 * 1024 * 1024)
  })
})

describe('Hugging Face Hub datasets from the cache (no network)', () => {
  test('a cached dataset loads offline: parquet train split, by row groups', async () => {
    const home = join(tmp.dir, 'hf-home')
    const snapshot = await fakeHubCache(home, 'someone/tiny-chat', {
      'data/train-00000-of-00001.parquet': { parquet: [chatml('hello', 'hello world'), chatml('what is two plus two?', 'four'), chatml('the cat?', 'on the mat')] },
      'data/test-00000-of-00001.parquet': { parquet: [chatml('eval', 'only')] },
      'README.md': '# card',
    })
    vi.stubEnv('HF_HOME', home)
    vi.stubEnv('HF_HUB_OFFLINE', '1')
    vi.stubEnv('HF_HUB_CACHE', '')
    expect(await hubDatasetFiles('someone/tiny-chat')).toEqual([join(snapshot, 'data/train-00000-of-00001.parquet')])
    const out = join(tmp.dir, 'hub-run')
    await runSource({ kind: 'hub', repo: 'someone/tiny-chat', split: 'train', revision: 'main' }, join(out, 'source'), { baseDir: tmp.dir })
    await runFormat('chatml-text', join(out, 'source'), join(out, 'format'), { onError: 'fail', baseDir: tmp.dir })
    expect(messagesOf(await readJsonl<Conversation>(join(out, 'format', 'conversations.jsonl')))).toEqual([
      ['user: hello', 'assistant: hello world'],
      ['user: what is two plus two?', 'assistant: four'],
      ['user: the cat?', 'assistant: on the mat'],
    ])
  })

  test('jsonl files without split names are the train split', async () => {
    const home = join(tmp.dir, 'hf-home-2')
    const snapshot = await fakeHubCache(home, 'someone/plain', { 'chat.jsonl': `${JSON.stringify({ text: chatml('hi', 'yes') })}\n` })
    vi.stubEnv('HF_HOME', home)
    vi.stubEnv('HF_HUB_OFFLINE', '1')
    vi.stubEnv('HF_HUB_CACHE', '')
    expect(await hubDatasetFiles('someone/plain')).toEqual([join(snapshot, 'chat.jsonl')])
  })

  test('a missing dataset offline is DatasetNotFound naming where it looked and how to provide it', async () => {
    vi.stubEnv('HF_HOME', '/nowhere/hf')
    vi.stubEnv('HF_HUB_OFFLINE', '1')
    vi.stubEnv('HF_HUB_CACHE', '')
    const err = await hubDatasetFiles('OpenAssistant/oasst_top1_2023-08-25').catch((e: Error) => e)
    expect((err as Error).message).toMatchInlineSnapshot(`
      "Dataset not found
      ✖ TK302 the dataset "OpenAssistant/oasst_top1_2023-08-25" is not on this machine (looked in /nowhere/hf/hub/datasets--OpenAssistant--oasst_top1_2023-08-25 (not cached; HF_HUB_OFFLINE is set)) → at data.source
        value: "OpenAssistant/oasst_top1_2023-08-25"
        fix: Download it once (huggingface-cli download --repo-type dataset OpenAssistant/oasst_top1_2023-08-25) into the Hub cache (HF_HOME), or point data.source at local files with file('…') or --data-path."
    `)
  })
  test('a failed download is DatasetNotFound too (the endpoint is a closed local port)', async () => {
    vi.stubEnv('HF_HOME', join(tmp.dir, 'empty-home'))
    vi.stubEnv('HF_HUB_OFFLINE', '')
    vi.stubEnv('HF_HUB_CACHE', '')
    vi.stubEnv('HF_ENDPOINT', 'http://127.0.0.1:9')
    const err = (await hubDatasetFiles('someone/absent').catch((e: Error) => e)) as Error & { code: string }
    expect(err.code).toBe('TK302')
    expect(err.message).toContain('download failed')
  })
})
