// Training checkpoints (docs/architecture.md, "Checkpoints"): `<workDir>/checkpoint-<step>/` with
// the trained tensors in their method's layout (PEFT adapter for LoRA), `optimizer.safetensors` (`<adapter key>.exp_avg` / `.exp_avg_sq`)
// and `trainer_state.json`. A checkpoint is written to a temp folder and renamed into place, so
// a crash never leaves a half checkpoint under the final name; the last `keep` are kept.
import type { Json } from '@tunekit/core'
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { tempName, writeJsonAtomic } from '@tunekit/core'
import { readTrainArtifact, writeTrainArtifact, type ReadArtifact, type TrainArtifact } from './peft/index.ts'
import { readSafetensors, writeSafetensors, type FloatTensor } from './safetensors.ts'

export const TRAINER_STATE = 'trainer_state.json'
export const OPTIMIZER_STATE = 'optimizer.safetensors'

/** Where training stands; enough to continue exactly where it stopped, on either backend. */
export interface TrainerState {
  /** Optimiser steps done. */
  step: number
  /** Epochs done, fractional (step / stepsPerEpoch). */
  epoch: number
  /** Position in the batch plan: micro-batches consumed so far (the next one to run). */
  microBatch: number
  /** State of the random streams (dropout), in the writing backend's scheme, e.g. `{ seed, scheme }` or an RngState. */
  rng: Json
  /** Key of the train node: a checkpoint of another recipe is never resumed. */
  recipeKey: string
  /** Training loss of every optimiser step so far. */
  lossHistory: number[]
  /** Eval losses so far. */
  evalHistory?: Array<{ step: number; loss: number }>
  /** Backend that wrote it (`tfjs`, `torch`). */
  backend: string
}

export interface CheckpointContents {
  /** The trained tensors in their method's layout (a PEFT adapter for LoRA, see peft/). */
  adapter: TrainArtifact
  /** AdamW moments by `<tensor key>.exp_avg` / `.exp_avg_sq` (empty for SGD without momentum). */
  optimizer: ReadonlyMap<string, FloatTensor>
  trainerState: TrainerState
  /** Writes a stage's own files into the (temp) checkpoint folder: the ppo stage's value head, and its rollout inside one. */
  extra?: (folder: string) => Promise<void>
}

export interface CheckpointEntry {
  step: number
  path: string
}

const NAME = /^checkpoint-(\d+)$/

/** Finished checkpoints of a work folder, oldest first (folders without trainer_state.json are ignored). */
export async function listCheckpoints(workDir: string): Promise<CheckpointEntry[]> {
  const names = await readdir(workDir).catch(() => [] as string[])
  const out: CheckpointEntry[] = []
  for (const name of names) {
    const m = NAME.exec(name)
    if (!m) continue
    const path = join(workDir, name)
    if (await stat(join(path, TRAINER_STATE)).then(() => true, () => false)) out.push({ step: Number(m[1]), path })
  }
  return out.sort((a, b) => a.step - b.step)
}

/** Writes `checkpoint-<step>` atomically and deletes all but the newest `keep`. Returns its path. */
export async function writeCheckpoint(workDir: string, step: number, contents: CheckpointContents, options: { keep?: number } = {}): Promise<string> {
  const final = join(workDir, `checkpoint-${step}`)
  const tmp = tempName(join(workDir, `.checkpoint-${step}`))
  // Temp folders of a crashed earlier write (one trainer writes a work folder at a time).
  for (const name of await readdir(workDir).catch(() => [] as string[])) {
    if (/^\.checkpoint-\d+\.tmp-/.test(name)) await rm(join(workDir, name), { recursive: true, force: true })
  }
  await mkdir(tmp, { recursive: true })
  try {
    await writeTrainArtifact(tmp, contents.adapter)
    await writeSafetensors(join(tmp, OPTIMIZER_STATE), [...contents.optimizer], { metadata: { format: 'pt' } })
    await writeJsonAtomic(join(tmp, TRAINER_STATE), contents.trainerState)
    await contents.extra?.(tmp)
    await rm(final, { recursive: true, force: true }) // rename cannot replace a non-empty folder
    await rename(tmp, final)
  } catch (e) {
    await rm(tmp, { recursive: true, force: true })
    throw e
  }
  const keep = options.keep ?? 2
  const all = await listCheckpoints(workDir)
  for (const old of all.slice(0, Math.max(0, all.length - keep))) await rm(old.path, { recursive: true, force: true })
  return final
}

/** A checkpoint read back. */
export interface Checkpoint extends CheckpointEntry {
  adapter: ReadArtifact
  optimizer: Map<string, FloatTensor>
  trainerState: TrainerState
}

/** Reads one checkpoint folder. */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  const trainerState = JSON.parse(await readFile(join(path, TRAINER_STATE), 'utf8')) as TrainerState
  const adapter = await readTrainArtifact(path)
  const optimizer = new Map<string, FloatTensor>()
  const optFile = join(path, OPTIMIZER_STATE)
  if (await stat(optFile).then(() => true, () => false)) {
    for (const [key, t] of (await readSafetensors(optFile)).tensors) if (t.data instanceof Float32Array) optimizer.set(key, t as FloatTensor)
  }
  return { step: trainerState.step, path, adapter, optimizer, trainerState }
}

/** The newest checkpoint of a work folder, or undefined when there is none. */
export async function readLatestCheckpoint(workDir: string): Promise<Checkpoint | undefined> {
  const latest = (await listCheckpoints(workDir)).at(-1)
  return latest ? readCheckpoint(latest.path) : undefined
}
