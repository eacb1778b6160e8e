// The seeded initial tensors of a torch qa-train node, written to <workDir>/qa-initial.safetensors
// for the worker: the QA head when the model's checkpoint lacks it (@tunekit/hf's freshHeadTensors,
// the draw the tfjs loader makes) and, with LoRA, the initial A/B (initialEncoderLoraTensors, the
// tfjs qa-train's draw). The same bytes on both backends, so their first steps agree.
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { inputOfKind, nodeParams, resolveModelDir, type NodeContext } from '@tunekit/core'
import { freshHeadTensors, initialEncoderLoraTensors, modelWeightSpecs, readModelConfig, writeSafetensors } from '@tunekit/hf'

/** The file, or undefined when the run starts from the checkpoint alone (full fine-tuning of a model with its head). */
export async function writeQaInitialTensors(ctx: NodeContext): Promise<string | undefined> {
  const p = nodeParams('qa-train', ctx.node)
  const dir = await resolveModelDir(inputOfKind(ctx, 'model'))
  const model = await readModelConfig(dir)
  const tensors = freshHeadTensors(dir, model, p.args.seed)
  if (p.method.kind === 'lora') {
    const spec = { rank: p.method.rank, targetModules: p.method.targetModules, modulesToSave: [...new Set(['qa_outputs', ...p.method.modulesToSave])] }
    for (const [name, t] of initialEncoderLoraTensors(modelWeightSpecs(model.family, model.config), spec, p.args.seed)) tensors.set(name, t)
  }
  if (tensors.size === 0) return undefined
  await mkdir(ctx.workDir, { recursive: true })
  const file = join(ctx.workDir, 'qa-initial.safetensors')
  await writeSafetensors(file, tensors)
  return file
}
