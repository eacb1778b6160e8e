import { writeCheckpoint, type TrainArtifact } from '@tunekit/hf'
import type { CheckpointRequest } from './loop.ts'

/** A checkpoint writer for {@link trainLoop}: `<workDir>/checkpoint-<step>/` in the shared layout, last `keep` kept. */
export function checkpointWriter(workDir: string, adapter: Omit<TrainArtifact, 'tensors'>, keep: number): (r: CheckpointRequest) => Promise<string> {
  return (r) =>
    writeCheckpoint(workDir, r.step, { adapter: { ...adapter, tensors: r.adapter }, optimizer: r.optimizer, trainerState: r.trainerState }, { keep })
}
