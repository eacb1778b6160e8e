import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test, vi } from 'vitest'
import { compile, defineRecipe, file, hub, parseRecipe, runGraph } from '@tunekit/core'
import { dataExecutors } from '@tunekit/data'
import { modelExecutor } from '@tunekit/hf'
import { readJson, tempDir, tinyModelFolder } from './helpers.ts'

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => (tmp = await tempDir()))
afterAll(() => tmp.done())

const chatml = (q: string, a: string): string =>
  `${JSON.stringify({ text: `<|im_start|>user\n${q}<|im_end|>\n<|im_start|>assistant\n${a}<|im_end|>\n` })}\n`

test("data.split.evalSplit: the Hub dataset's own test split is the eval set, and all of train trains", async () => {
  // A Hub cache as huggingface_hub writes it, with oasst_top1's two splits as jsonl files.
  const repoDir = join(tmp.dir, 'hf', 'hub', 'datasets--tunekit--chat-splits')
  const commit = 'b'.repeat(40)
  const snapshot = join(repoDir, 'snapshots', commit, 'data')
  await mkdir(join(repoDir, 'refs'), { recursive: true })
  await mkdir(snapshot, { recursive: true })
  await writeFile(join(repoDir, 'refs', 'main'), commit)
  await writeFile(join(snapshot, 'train.jsonl'), Array.from({ length: 7 }, (_, i) => chatml(`add ${i} and 1`, String(i + 1))).join(''))
  await writeFile(join(snapshot, 'test.jsonl'), Array.from({ length: 3 }, (_, i) => chatml(`add ${i} and 2`, String(i + 2))).join(''))
  vi.stubEnv('HF_HOME', join(tmp.dir, 'hf'))
  vi.stubEnv('HF_HUB_OFFLINE', '1')

  const modelDir = join(tmp.dir, 'model')
  await tinyModelFolder(modelDir)
  const recipe = defineRecipe({
    name: 'eval-split',
    model: { id: 'tunekit/tiny', family: 'mistral', path: modelDir },
    tokens: { chatml: true },
    lora: { trainableTokens: true },
    data: { source: hub('tunekit/chat-splits'), format: 'chatml-text', maxLength: 64, split: { evalSplit: 'test' } },
    args: { batchSize: 2, epochs: 1 },
  })
  const dirs = { cacheDir: join(tmp.dir, 'cache'), runDir: join(tmp.dir, 'run'), baseDir: tmp.dir }
  const graph = await compile(recipe, dirs)
  expect(graph.nodes.find((n) => n.id === 'split')!.inputs).toEqual(['tokenize', 'eval-tokenize'])
  const result = await runGraph(graph, { recipe, ...dirs, executors: { ...dataExecutors, model: modelExecutor }, until: 'collate' })
  const split = result.nodes.find((n) => n.id === 'split')!
  const dir = join(dirs.cacheDir, graph.nodes.find((n) => n.id === split.id)!.key)
  expect((await readJson<{ count: number }>(join(dir, 'train', 'index.json'))).count).toBe(7)
  expect((await readJson<{ count: number }>(join(dir, 'eval', 'index.json'))).count).toBe(3)
})

test('data.split.evalSplit on a file source is a recipe error with a fix', () => {
  expect(() =>
    parseRecipe({ model: { id: 'x', family: 'mistral' }, data: { source: file('a.jsonl'), format: 'openai', split: { evalSplit: 'test' } } }),
  ).toThrowErrorMatchingInlineSnapshot(`
    [RecipeError: Recipe has 1 problem
    ✖ TK208 data.split.evalSplit names a split of a Hub dataset, but data.source is a file source → at data.split.evalSplit
      value: "test"
      fix: Remove evalSplit to carve the eval set out of the records (data.split.eval), or use hub(…) as the source.]
  `)
})
