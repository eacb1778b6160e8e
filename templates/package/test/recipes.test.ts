import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { expect, test } from 'vitest'
import { compile, parseRecipe, type Recipe } from '@tunekit/core'
import { supportChat } from '../src/index.ts'

const recipesDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'recipes')
const files = readdirSync(recipesDir).filter((f) => f.endsWith('.ts'))

test.each(files)('%s is a valid recipe that compiles to a graph', async (file) => {
  const { recipe } = (await import(pathToFileURL(join(recipesDir, file)).href)) as { recipe: Recipe }
  expect(parseRecipe(recipe)).toEqual(recipe)
  const graph = await compile(recipe, { baseDir: recipesDir })
  expect(graph.nodes.map((n) => n.id)).toContain('train')
})

test('the factory keeps its defaults and takes overrides', () => {
  const base = { model: { id: 'mistralai/Mistral-7B-v0.1', family: 'mistral' as const }, data: { source: { kind: 'inline' as const, records: [{ messages: [] }] }, format: 'openai' as const } }
  expect(supportChat(base).lora.rank).toBe(16)
  expect(supportChat({ ...base, lora: { rank: 4 } }).lora).toMatchObject({ rank: 4, alpha: 32 })
})
