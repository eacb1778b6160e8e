import { appendFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { compile, defineRecipe, file, runGraph } from '@tunekit/core'
import { dataExecutors } from '@tunekit/data'
import { modelExecutor } from '@tunekit/hf'
import { tempDir, tinyModelFolder } from './helpers.ts'

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => (tmp = await tempDir()))
afterAll(() => tmp.done())

const line = (q: string, a: string): string => `${JSON.stringify({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }] })}\n`

test('re-running on unchanged input is a cache hit that reads no source record; new bytes re-run the data nodes', async () => {
  const data = join(tmp.dir, 'chat.jsonl')
  await writeFile(data, Array.from({ length: 8 }, (_, i) => line(`what is ${i} plus ${i}?`, String(2 * i))).join(''))
  // a local model folder: the model node only points at it (model-ref.json); the data nodes read its tokenizer
  const modelDir = join(tmp.dir, 'model')
  await tinyModelFolder(modelDir)
  const recipe = defineRecipe({
    name: 'cache-hit',
    model: { id: 'tunekit/tiny', family: 'mistral', path: modelDir },
    tokens: { chatml: true },
    lora: { modulesToSave: ['embed_tokens', 'lm_head'] },
    data: { source: file('chat.jsonl'), format: 'openai', maxLength: 64, split: { eval: 2 } },
    args: { batchSize: 2, epochs: 1 },
  })
  const dirs = { cacheDir: join(tmp.dir, 'cache'), runDir: join(tmp.dir, 'run'), baseDir: tmp.dir }
  const executors = { ...dataExecutors, model: modelExecutor }
  // counts the executors that actually run: a cached node's executor is never called
  const ran: string[] = []
  const counting = Object.fromEntries(Object.entries(executors).map(([k, ex]) => [k, async (ctx: Parameters<typeof ex>[0]) => (ran.push(k), ex(ctx))]))
  const first = await runGraph(await compile(recipe, dirs), { recipe, ...dirs, executors: counting, until: 'collate' })
  expect(first.nodes.map((n) => n.status)).toEqual(Array(6).fill('ran'))
  ran.length = 0
  const second = await runGraph(await compile(recipe, dirs), { recipe, ...dirs, executors: counting, until: 'collate' })
  expect(second.nodes.map((n) => n.status)).toEqual(Array(6).fill('cached'))
  expect(ran).toEqual([])
  await appendFile(data, line('one more?', 'yes'))
  await runGraph(await compile(recipe, dirs), { recipe, ...dirs, executors: counting, until: 'collate' })
  expect(ran).toEqual(['source', 'format', 'tokenize', 'split', 'collate'])
})
