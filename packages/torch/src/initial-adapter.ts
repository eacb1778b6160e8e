// The seeded initial adapter for a train node, drawn in TypeScript by @tunekit/hf (the
// same bytes the tfjs backend starts from) and handed to the worker, which loads it into PEFT.
import { join } from 'node:path'
import { inputOfKind, nodeParams, readTrainableTokenIds, resolveModelDir, warmStartDir, type NodeContext } from '@tunekit/core'
import { loadTokenizer } from '@tunekit/data'
import { adapterBaseModel, checkAdapter, growRows, initialAdapter, loraSpecFromRecipe, openModelWeights, readModelConfig, writeAdapter, type BaseTensors } from '@tunekit/hf'

/**
 * Writes `<workDir>/initial-adapter/` from the node's LoRA method and `args.seed`; returns the folder.
 * A warm start (`lora.init` naming an adapter folder) returns that folder, checked against the
 * model, for the worker to load through PEFT. Full and freeze start from the base weights
 * themselves: nothing to draw, no folder.
 */
export async function writeInitialAdapter(ctx: NodeContext): Promise<string | undefined> {
  const params = nodeParams('train', ctx.node)
  if (params.method.kind !== 'lora') return undefined
  const modelDir = await resolveModelDir(inputOfKind(ctx, 'model'))
  const tokenize = inputOfKind(ctx, 'tokenize')
  const { family, config } = await readModelConfig(modelDir)
  const tok = await loadTokenizer(join(tokenize, 'tokenizer'))
  const vocab = Math.max(tok.vocabSize, config.vocabSize)
  const warm = warmStartDir(params.method.init, ctx.baseDir)
  if (warm) {
    checkAdapter(warm, { family, config: { ...config, vocabSize: vocab } })
    return warm
  }
  const spec = loraSpecFromRecipe(params.method, family, await readTrainableTokenIds(tokenize))
  const weights = await openModelWeights(modelDir)
  try {
    // modules_to_save / trainable tokens start from the (resized) base rows
    const baseTensors: BaseTensors = {
      readFloat: async (name) => {
        const t = await weights.readFloat(name)
        return name === 'model.embed_tokens.weight' || name === 'lm_head.weight' ? growRows(t, vocab) : t
      },
    }
    const tensors = await initialAdapter({ family, config: { ...config, vocabSize: vocab }, lora: spec, seed: params.args.seed, baseTensors })
    const dir = join(ctx.workDir, 'initial-adapter')
    await writeAdapter(dir, { tensors, loraConfig: spec, family, ...adapterBaseModel(params.model, modelDir) })
    return dir
  } finally {
    await weights.close()
  }
}
