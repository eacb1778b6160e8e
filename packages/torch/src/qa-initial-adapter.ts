// The seeded initial LoRA of a torch qa-train node: @tunekit/hf's initialEncoderLoraTensors over
// the model's weight specs (the tfjs qa-train's draw, the same bytes), written to
// <workDir>/qa-initial-adapter.safetensors for the worker to load into its PeftModel.
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { inputOfKind, nodeParams, resolveModelDir, type NodeContext } from '@tunekit/core'
import { initialEncoderLoraTensors, modelWeightSpecs, readModelConfig, writeSafetensors } from '@tunekit/hf'

/** The file, or undefined for full fine-tuning. */
export async function writeQaInitialAdapter(ctx: NodeContext): Promise<string | undefined> {
  const p = nodeParams('qa-train', ctx.node)
  if (p.method.kind !== 'lora') return undefined
  const { family, config } = await readModelConfig(await resolveModelDir(inputOfKind(ctx, 'model')))
  const spec = { rank: p.method.rank, targetModules: p.method.targetModules, modulesToSave: [...new Set(['qa_outputs', ...p.method.modulesToSave])] }
  const tensors = initialEncoderLoraTensors(modelWeightSpecs(family, config), spec, p.args.seed)
  await mkdir(ctx.workDir, { recursive: true })
  const file = join(ctx.workDir, 'qa-initial-adapter.safetensors')
  await writeSafetensors(file, tensors)
  return file
}
