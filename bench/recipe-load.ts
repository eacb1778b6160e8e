// Seconds per `readRecipeFile` of one recipe, loaded again and again in one process (the in-process
// CLI, `tunekit ui`, the tests): the first load evaluates the packages the recipe imports, the
// later ones its own files only (packages/cli/src/recipe-import.ts).
// Run: npx tsx --conditions=source bench/recipe-load.ts [recipe=recipes/tiny-chat.ts] [loads=5]
import { mkdir, writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { readRecipeFile } from '@tunekit/cli'

const file = resolve(process.argv[2] ?? 'recipes/tiny-chat.ts')
const loads = Number(process.argv[3] ?? 5)
const seconds: number[] = []
for (let i = 0; i < loads; i++) {
  const start = performance.now()
  await readRecipeFile(file)
  seconds.push((performance.now() - start) / 1000)
}
console.log(`${'load'.padEnd(6)}seconds   (${file})`)
for (const [i, s] of seconds.entries()) console.log(`${String(i + 1).padEnd(6)}${s.toFixed(3)}`)
await mkdir('bench/results', { recursive: true })
await writeFile('bench/results/recipe-load.json', `${JSON.stringify({ file, seconds }, null, 1)}\n`)
