import { cp } from 'node:fs/promises'
import { join } from 'node:path'
import { convertedArtifact, writeTrainArtifact, type TrainArtifact } from '@tunekit/hf'
import { adapterTensors, type AdapterState } from '../methods/state.ts'

/**
 * A finished train node's folder, the same for every objective (SFT, pretrain, DPO): the method's
 * artifact with the trained tensors, the last checkpoint's trainer_state.json, the tokenizer and the
 * chat template the data was rendered with (absent for raw text). A PiSSA adapter is converted
 * (@tunekit/hf's peft/pissa.ts); checkpoints keep the rank-r tensors of the residual base.
 */
export async function writeTrainOutputs(o: {
  outDir: string
  artifact: Omit<TrainArtifact, 'tensors'>
  adapter: AdapterState
  lastCheckpoint: string
  tokenizerDir: string
  tokenizeDir: string
}): Promise<void> {
  // PiSSA trained against the residual base: written as a plain LoRA of the original one; LLaMA Pro's frozen tensors beside the trained ones
  await writeTrainArtifact(o.outDir, convertedArtifact({ ...o.artifact, tensors: new Map([...(o.adapter.artifactExtra ?? []), ...adapterTensors(o.adapter, { artifact: true })]) }, o.adapter.pissaStart))
  await cp(join(o.lastCheckpoint, 'trainer_state.json'), join(o.outDir, 'trainer_state.json'))
  await cp(o.tokenizerDir, join(o.outDir, 'tokenizer'), { recursive: true })
  await cp(join(o.tokenizeDir, 'chat_template.jinja'), join(o.outDir, 'chat_template.jinja')).catch(() => undefined)
}
