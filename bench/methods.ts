// The training methods side by side on one task: every recipe in recipes/methods/ (the tiny-chat
// task on the tiny model, the same steps) trained from a fresh cache on tfjs, one child process per
// recipe so that each peak RSS is its own. Per method: trainable parameters (`plan`), peak tensor
// memory and RSS, ms per step, and held-out accuracy on the opposites questions after the run.
// Prints one table, writes bench/results/methods.json; docs/methods.md shows the table.
//
// Run: nice -n 10 npx tsx bench/methods.ts        (--only <file>…: measure those again, keep the other rows;
//      --one <file>: one row as JSON; --table: the saved table again)
// A recipe added to recipes/methods/ is a row of the next run; nothing here names the methods.
import { spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { existsSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { compile, plan, runGraph, type Recipe, type RunEvent } from '@tunekit/core'
import { dataExecutors } from '@tunekit/data'
import { modelExecutor } from '@tunekit/hf'
import { gradeAnswers, type Sample } from '@tunekit/recipes'
import { createTfjsBackend } from '@tunekit/tfjs'

/** One row of the table. */
export interface MethodRow {
  recipe: string
  method: string
  trainable: number
  /** Peak bytes of the tfjs engine's tensors over the logged steps. */
  peakTensorBytes: number
  /** Peak resident set size of the process that ran the recipe. */
  peakRssBytes: number
  /** Mean wall time per optimizer step between the first and the last logged step. */
  msPerStep: number
  steps: number
  finalLoss: number
  correct: number
  total: number
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const methodsDir = join(root, 'recipes', 'methods')

/** Trains one recipe file from an empty cache and measures it. */
async function measure(file: string): Promise<MethodRow> {
  const { recipe } = (await import(pathToFileURL(file).href)) as { recipe: Recipe }
  const { heldOut } = (await import(pathToFileURL(join(root, 'recipes', 'tiny-chat.ts')).href)) as { heldOut: Array<{ prompt: string; answer: string }> }
  const cacheDir = await mkdtemp(join(tmpdir(), 'tunekit-bench-methods-'))
  try {
    const graph = await compile(recipe, { baseDir: dirname(file), cacheDir })
    const events: RunEvent[] = []
    const backend = createTfjsBackend({ device: recipe.device === 'auto' ? 'auto' : recipe.device })
    await runGraph(graph, {
      recipe, executors: { ...dataExecutors, model: modelExecutor, ...backend.executors }, cacheDir, runDir: join(cacheDir, 'run'), baseDir: dirname(file),
      onEvent: (e) => void events.push(e),
    })
    const p = plan(graph, { cacheDir })
    const steps = events.flatMap((e) => (e.type === 'step' ? [e] : []))
    const [first, last] = [steps[0]!, steps.at(-1)!]
    const generate = graph.nodes.find((n) => n.kind === 'generate')!
    const samplesFile = join(cacheDir, generate.key, 'samples.jsonl')
    const samples = existsSync(samplesFile) ? readFileSync(samplesFile, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Sample) : []
    const grades = gradeAnswers(heldOut, samples)
    return {
      recipe: relative(root, file), method: describe(recipe),
      trainable: 'params' in p.model ? p.model.params.trainable : Number.NaN,
      peakTensorBytes: Math.max(...steps.map((s) => s.memoryBytes ?? 0)),
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      msPerStep: (last.time - first.time) / Math.max(1, last.step - first.step),
      steps: last.step, finalLoss: last.loss, correct: grades.correct, total: grades.total,
    }
  } finally {
    await rm(cacheDir, { recursive: true, force: true })
  }
}

/** The method as a reader names it: LoRA's variants by their switch. */
function describe(recipe: Recipe): string {
  const m = recipe.method
  if (m.kind !== 'lora') return m.kind
  const l = recipe.lora
  return l.useDora ? 'dora' : l.loraplusLrRatio !== undefined ? `loraplus (ratio ${l.loraplusLrRatio})` : `lora (r ${l.rank})`
}

const mb = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MB`

export function formatTable(rows: readonly MethodRow[]): string {
  const lines = [
    '| recipe | method | trainable | peak tensors | peak RSS | ms/step | loss at end | held-out accuracy |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| \`${r.recipe}\` | ${r.method} | ${r.trainable.toLocaleString('en-US')} | ${mb(r.peakTensorBytes)} | ${mb(r.peakRssBytes)} | ${r.msPerStep.toFixed(0)} | ${r.finalLoss.toFixed(3)} | ${r.correct}/${r.total} |`),
  ]
  return lines.join('\n')
}

async function main(): Promise<void> {
  const one = process.argv.indexOf('--one')
  if (one >= 0) {
    // the child: one recipe, its row as the last line of stdout
    console.log(JSON.stringify(await measure(resolve(process.argv[one + 1]!))))
    return
  }
  if (process.argv.includes('--table')) {
    // the saved rows again, as docs/methods.md shows them
    const saved = JSON.parse(readFileSync(join(root, 'bench', 'results', 'methods.json'), 'utf8')) as { rows: MethodRow[] }
    console.log(formatTable(saved.rows))
    return
  }
  const results = join(root, 'bench', 'results')
  // --only <file>…: measure those again and keep the saved rows of the others
  const only = process.argv.includes('--only') ? process.argv.slice(process.argv.indexOf('--only') + 1).map((f) => resolve(f)) : undefined
  const files = only ?? (await readdir(methodsDir)).filter((f) => f.endsWith('.ts')).sort().map((f) => join(methodsDir, f))
  const kept = only ? (JSON.parse(readFileSync(join(results, 'methods.json'), 'utf8')) as { rows: MethodRow[] }).rows.filter((r) => !only.includes(join(root, r.recipe))) : []
  const rows: MethodRow[] = [...kept]
  await mkdir(results, { recursive: true })
  for (const file of files) {
    console.error(`bench/methods: ${relative(root, file)} …`)
    const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--one', file], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 })
    if (r.status !== 0) {
      console.error(`bench/methods: ${relative(root, file)} failed (exit ${r.status}):\n${r.stderr.slice(-3000)}`)
      continue
    }
    rows.push(JSON.parse(r.stdout.trim().split('\n').pop()!) as MethodRow)
    rows.sort((a, b) => (a.recipe < b.recipe ? -1 : 1))
    // written after every row: a long run interrupted keeps what it measured
    await writeFile(join(results, 'methods.json'), `${JSON.stringify({ measuredAt: new Date().toISOString().slice(0, 10), backend: 'tfjs', rows }, null, 2)}\n`)
  }
  console.log(formatTable(rows))
}

await main()
