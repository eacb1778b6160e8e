// The TensorBoard sink beside events.jsonl: the scalars of every `step` and `eval` event, appended
// to `<runDir>/events.out.tfevents.<seconds>.<host>.<pid>.<n>` as the run goes, so that
// `tensorboard --logdir runs/` shows each run folder as a run. Tags follow transformers'
// TensorBoardCallback: `train/loss`, `train/learning_rate`, `train/grad_norm`, `eval/loss`, …
// A run writes its own file, created at its first scalar (a run of cached nodes writes none).
import { appendFileSync, existsSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import type { RunEvent } from '../events.ts'
import { fileVersionEvent, scalarsEvent, sessionStartEvent, type Scalar } from '../tensorboard/event.ts'
import { tfRecord } from '../tensorboard/tfrecord.ts'

// fields of step and eval events that are positions, not measurements
const NOT_SCALARS = new Set(['type', 'time', 'node', 'step', 'totalSteps', 'etaSeconds'])

const snakeCase = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

/**
 * The scalars of an event under their TensorBoard tags: every numeric field of a `step` event
 * under `train/` (`learningRate` → `train/learning_rate`) with its objective's `metrics` under their
 * own names (`train/rewards/chosen`), of an `eval` event under `eval/` (its epoch is train/epoch's
 * business). Other events have none.
 */
export function eventScalars(event: RunEvent): Scalar[] {
  if (event.type !== 'step' && event.type !== 'eval') return []
  const prefix = event.type === 'step' ? 'train' : 'eval'
  const fields = Object.entries(event).flatMap(([key, value]) =>
    typeof value === 'number' && !NOT_SCALARS.has(key) && !(prefix === 'eval' && key === 'epoch') ? [{ tag: `${prefix}/${snakeCase(key)}`, value }] : [])
  // an objective's metrics keep TRL's names: train/rewards/chosen, as TRL's trainers log them
  const metrics = event.type === 'step' ? Object.entries(event.metrics ?? {}).map(([name, value]) => ({ tag: `train/${name}`, value })) : []
  return [...fields, ...metrics]
}

/** A name no other run wrote: TensorBoard reads a folder's event files in name order, so it begins with the time. */
function eventFileName(runDir: string, time: number): string {
  const base = `events.out.tfevents.${Math.floor(time / 1000)}.${hostname()}.${process.pid}`
  let n = 0
  while (existsSync(join(runDir, `${base}.${n}`))) n++
  return join(runDir, `${base}.${n}`)
}

/**
 * A sink for one run into `runDir`: give it every event; it appends the scalar ones. Before the
 * run's first `step` event it writes a SessionLog START at that step, so TensorBoard replaces what
 * an earlier run of the folder logged from there on (a resume redoes the steps after its checkpoint).
 */
export function tensorboardSink(runDir: string): (event: RunEvent) => void {
  let file: string | undefined
  let started = false
  return (event) => {
    const scalars = eventScalars(event)
    if (scalars.length === 0 || !('step' in event)) return
    const wallTime = event.time / 1000 // seconds, as TensorBoard's wall_time
    const records: Uint8Array[] = []
    if (file === undefined) {
      file = eventFileName(runDir, event.time)
      records.push(fileVersionEvent(wallTime))
    }
    if (event.type === 'step' && !started) {
      started = true
      records.push(sessionStartEvent(wallTime, event.step))
    }
    records.push(scalarsEvent(wallTime, event.step, scalars))
    appendFileSync(file, Buffer.concat(records.map(tfRecord)))
  }
}
