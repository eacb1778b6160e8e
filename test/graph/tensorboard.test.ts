// The run folder's TensorBoard event files, read back by TensorBoard's own reader (EventAccumulator,
// reference environment): every scalar of events.jsonl, float32-rounded, at its step and wall time.
import { cpSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { compile, runGraph, type RunEvent } from '@tunekit/core'
import { runReference } from '../python.ts'
import { tempDir, testExecutors, tinyRecipe } from './helpers.ts'

// TensorBoard's view of each folder: its event files' version and every scalar as [wall_time, step, value].
const READ = `
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
out = {}
for folder in json.load(sys.stdin):
    acc = EventAccumulator(folder, size_guidance={"scalars": 0})
    acc.Reload()
    out[folder] = {"fileVersion": acc.file_version, "scalars": {t: [[s.wall_time, s.step, s.value] for s in acc.Scalars(t)] for t in acc.Tags()["scalars"]}}
print(json.dumps(out))
`

// events.jsonl field → TensorBoard tag (transformers' TensorBoardCallback names)
const TAGS = {
  step: { loss: 'train/loss', learningRate: 'train/learning_rate', gradNorm: 'train/grad_norm', tokensPerSecond: 'train/tokens_per_second', epoch: 'train/epoch' },
  eval: { loss: 'eval/loss', perplexity: 'eval/perplexity', tokens: 'eval/tokens' },
} as const

type Point = [wallTime: number, step: number, value: number]

/** What TensorBoard should show for these events: each field's value rounded to float32, at the event's step and time in seconds. */
function expected(events: readonly RunEvent[]): Record<string, Point[]> {
  const out: Record<string, Point[]> = {}
  for (const e of events) {
    if (e.type !== 'step' && e.type !== 'eval') continue
    for (const [field, tag] of Object.entries(TAGS[e.type])) {
      const value = (e as unknown as Record<string, number | undefined>)[field]
      if (value !== undefined) (out[tag] ??= []).push([e.time / 1000, e.step, Math.fround(value)])
    }
  }
  return out
}

const readEvents = (runDir: string): RunEvent[] => readFileSync(join(runDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RunEvent)
const eventFiles = (runDir: string): string[] => readdirSync(runDir).filter((f) => f.includes('tfevents'))
const only = (scalars: Record<string, Point[]>, prefix: string): Record<string, Point[]> => Object.fromEntries(Object.entries(scalars).filter(([t]) => t.startsWith(prefix)))

describe('TensorBoard event files in the run folder', () => {
  const root = tempDir('tensorboard')
  const dirs = { cacheDir: join(root, 'cache'), runDir: join(root, 'run'), baseDir: root }
  const firstRun = join(root, 'first-run')
  let read: Record<string, { fileVersion: number; scalars: Record<string, Point[]> }>
  let first: RunEvent[]
  let all: RunEvent[]

  beforeAll(async () => {
    const recipe = tinyRecipe()
    const graph = await compile(recipe, dirs)
    await runGraph(graph, { recipe, ...dirs, executors: testExecutors().executors })
    first = readEvents(dirs.runDir)
    cpSync(dirs.runDir, firstRun, { recursive: true, dereference: false })
    // trained again into the same folder (as a resume redoes the steps after its checkpoint)
    await runGraph(graph, { recipe, ...dirs, executors: testExecutors().executors, from: 'train' })
    all = readEvents(dirs.runDir)
    read = JSON.parse(runReference(READ, JSON.stringify([firstRun, dirs.runDir])))
  })

  it('hold every scalar of events.jsonl at its step and wall time, as TensorBoard reads them', () => {
    expect(eventFiles(firstRun)).toHaveLength(1)
    expect(read[firstRun]!.fileVersion).toBe(2) // brain.Event:2
    const want = expected(first)
    expect(Object.keys(want).sort()).toEqual([...Object.values(TAGS.step), ...Object.values(TAGS.eval)].sort())
    expect(want['train/loss']).toHaveLength(10) // 10 train samples / batch 2 × 2 epochs
    expect(read[firstRun]!.scalars).toEqual(want)
  })

  it('a second run writes its own file, and TensorBoard shows its steps in place of the first run’s', () => {
    expect(eventFiles(dirs.runDir)).toHaveLength(2)
    const second = all.slice(first.length)
    expect(second[0]).toMatchObject({ type: 'run-start' })
    const scalars = read[dirs.runDir]!.scalars
    // SessionLog START at the second run's first step: the first run's train/* from there on are dropped
    expect(only(scalars, 'train/')).toEqual(only(expected(second), 'train/'))
    // the eval node logs at step 0, before that start: both runs' values stay
    expect(only(scalars, 'eval/')).toEqual(only(expected(all), 'eval/'))
  })
})
