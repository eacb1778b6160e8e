// TensorBoard's Event message (tensorboard/compat/proto/event.proto), only the parts a scalar log
// needs: wall_time = 1 (double, seconds), step = 2 (int64), file_version = 3 (string),
// summary = 5 (Summary), session_log = 7 (SessionLog: status = 1, START = 1). A Summary
// (summary.proto) is repeated value = 1, each Value with tag = 1 (string) and simple_value = 2 (float).
import { bytesField, concat, doubleField, floatField, stringField, varintField } from './protobuf.ts'

/** The version string of the first record of every event file. */
export const FILE_VERSION = 'brain.Event:2'

/** One scalar: a tag such as `train/loss` and its value (stored as float32). */
export interface Scalar {
  tag: string
  value: number
}

const head = (wallTime: number, step: number): Uint8Array[] => [doubleField(1, wallTime), ...(step > 0 ? [varintField(2, step)] : [])]

/** The first event of a file: its version. */
export const fileVersionEvent = (wallTime: number): Uint8Array => concat([doubleField(1, wallTime), stringField(3, FILE_VERSION)])

/** A summary of scalars at a step. */
export function scalarsEvent(wallTime: number, step: number, scalars: readonly Scalar[]): Uint8Array {
  const values = scalars.map((s) => bytesField(1, concat([stringField(1, s.tag), floatField(2, s.value)])))
  return concat([...head(wallTime, step), bytesField(5, concat(values))])
}

/**
 * SessionLog START at `step`: TensorBoard's reader drops every event it has already read at `step`
 * or later, so a run resumed from a checkpoint (or trained again) replaces the steps it redoes.
 */
export const sessionStartEvent = (wallTime: number, step: number): Uint8Array => concat([...head(wallTime, step), bytesField(7, varintField(1, 1))])
