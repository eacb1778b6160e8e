// The qa stage's batch plan for the torch worker: each step's window indices, drawn here with
// @tunekit/core's epochOrder (the tfjs qa-train's own order), so both backends train on the same
// batches in the same order. Written to <workDir>/qa-plan.json; the worker reads it (qa_train.py).
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { epochOrder, inputOfKind, nodeParams, writeJsonAtomic, type NodeContext } from '@tunekit/core'

export interface QaPlan {
  stepsPerEpoch: number
  /** Window indices (lines of train/features.jsonl) of each optimiser step. */
  steps: number[][]
}

/** The plan of a qa-train node, as tfjs's qa-train walks it (accumulation folded into one batch). */
export function qaPlan(windows: number, a: { batchSize: number; gradientAccumulationSteps: number; epochs: number; maxSteps?: number | undefined; seed: number; shuffle: boolean }): QaPlan {
  const batchSize = a.batchSize * a.gradientAccumulationSteps
  const stepsPerEpoch = Math.ceil(windows / batchSize)
  const totalSteps = a.maxSteps ?? stepsPerEpoch * a.epochs
  const steps: number[][] = []
  for (let step = 0; step < totalSteps; step++) {
    const within = step % stepsPerEpoch
    const order = epochOrder(windows, a.seed, Math.floor(step / stepsPerEpoch), a.shuffle)
    steps.push(order.slice(within * batchSize, (within + 1) * batchSize))
  }
  return { stepsPerEpoch, steps }
}

/** Writes the node's plan and returns its path. */
export async function writeQaPlan(ctx: NodeContext): Promise<string> {
  const p = nodeParams('qa-train', ctx.node)
  const text = await readFile(join(inputOfKind(ctx, 'qa-features'), 'train', 'features.jsonl'), 'utf8')
  const windows = text.split('\n').filter((l) => l !== '').length
  await mkdir(ctx.workDir, { recursive: true })
  const file = join(ctx.workDir, 'qa-plan.json')
  await writeJsonAtomic(file, qaPlan(windows, p.args))
  return file
}
