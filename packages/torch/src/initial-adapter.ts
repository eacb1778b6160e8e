// The seeded initial adapter for a train node, drawn in TypeScript by @tunekit/hf (the
// same bytes the tfjs backend starts from) and handed to the worker, which loads it into PEFT.
import { join } from 'node:path'
import { familyInfo, inputOfKind, nodeParams, readTrainableTokenIds, resolveModelDir, warmStartDir, type MethodParams, type NodeContext, type TrainParams } from '@tunekit/core'
import { loadTokenizer } from '@tunekit/data'
import { adapterBaseModel, checkAdapter, growRows, initialAdapter, initialPromptEmbeddings, initialPromptEncoder, loraSpecFromRecipe, pTuningTrained, prefixTrained, openModelWeights, promptTextIds, readModelConfig, writeAdapter, writeTrainArtifact, type BaseTensors } from '@tunekit/hf'

/**
 * Writes `<workDir>/initial-adapter/` from the node's LoRA method and `args.seed`; returns the folder.
 * A warm start (`lora.init` naming an adapter folder) returns that folder, checked against the
 * model, for the worker to load through PEFT. Full and freeze start from the base weights
 * themselves: nothing to draw, no folder; nor does a fresh LoRA of family 'auto' (PEFT draws it).
 */
export async function writeInitialAdapter(ctx: NodeContext): Promise<string | undefined> {
  const params = nodeParams('train', ctx.node)
  if (params.method.kind === 'prompt-tuning') return writeInitialPrompt(ctx, params.method)
  if (params.method.kind === 'p-tuning' || params.method.kind === 'prefix-tuning') return writeInitialEncoder(ctx, params)
  if (params.method.kind !== 'lora') return undefined
  const warm = warmStartDir(params.method.init, ctx.baseDir)
  // family 'auto' has no module layout to draw an adapter in (or check one against) here: the worker's
  // PEFT draws it from args.seed (torch.manual_seed before get_peft_model) and loads a warm start itself
  if (params.model.family === 'auto') return warm
  const modelDir = await resolveModelDir(inputOfKind(ctx, 'model'))
  const tokenize = inputOfKind(ctx, 'tokenize')
  if (warm) {
    const { family, config } = await readModelConfig(modelDir)
    const tok = await loadTokenizer(join(tokenize, 'tokenizer'))
    checkAdapter(warm, { family, config: { ...config, vocabSize: Math.max(tok.vocabSize, config.vocabSize) } })
    return warm
  }
  // a vision-language model trains on torch alone, with module paths (model.language_model.layers.<i>…)
  // the drawn adapter does not name yet: the worker draws A from args.seed with PEFT's own init
  if (familyInfo(params.model.family)?.vision) return undefined
  const dir = join(ctx.workDir, 'initial-adapter')
  await writeSeededAdapter(dir, { method: params.method, model: params.model, seed: params.args.seed, modelDir, tokenizeDir: tokenize })
  return dir
}

/**
 * The seeded adapter a LoRA train node starts from (A from the seed, B = 0, saved modules and
 * trainable-token rows from the resized base rows, the rm stage's head drawn), in PEFT's layout,
 * into `dir`: what the worker and tfjs train from, and what `rewardAccuracy`'s `'initial'` scores.
 */
export async function writeSeededAdapter(dir: string, o: { method: Extract<MethodParams, { kind: 'lora' }>; model: TrainParams['model']; seed: number; modelDir: string; tokenizeDir: string }): Promise<void> {
  const { family, config } = await readModelConfig(o.modelDir)
  const tok = await loadTokenizer(join(o.tokenizeDir, 'tokenizer'))
  const vocab = Math.max(tok.vocabSize, config.vocabSize)
  const spec = loraSpecFromRecipe(o.method, family, await readTrainableTokenIds(o.tokenizeDir))
  const weights = await openModelWeights(o.modelDir)
  try {
    // modules_to_save / trainable tokens start from the (resized) base rows
    const baseTensors: BaseTensors = {
      readFloat: async (name) => {
        const t = await weights.readFloat(name)
        return name === 'model.embed_tokens.weight' || name === 'lm_head.weight' ? growRows(t, vocab) : t
      },
    }
    // PiSSA's A and B: the worker's PEFT pissa_init computes them (torch.linalg.svd), so they are left out
    const tensors = await initialAdapter({ family, config: { ...config, vocabSize: vocab }, lora: spec, seed: o.seed, baseTensors, pissaMatrices: false })
    await writeAdapter(dir, { tensors, loraConfig: spec, family, ...adapterBaseModel(o.model, o.modelDir) })
  } finally {
    await weights.close()
  }
}

/**
 * Prompt tuning's start values, drawn as tfjs draws them (@tunekit/hf's initialPromptEmbeddings:
 * RANDOM from the seed, TEXT the resized base embedding's rows of the text's ids), written in
 * PEFT's layout into `<workDir>/initial-adapter/` for the worker to load into its PromptEmbedding.
 */
async function writeInitialPrompt(ctx: NodeContext, method: Extract<MethodParams, { kind: 'prompt-tuning' }>): Promise<string> {
  const p = nodeParams('train', ctx.node)
  const modelDir = await resolveModelDir(inputOfKind(ctx, 'model'))
  const { family, config } = await readModelConfig(modelDir)
  const tok = await loadTokenizer(join(inputOfKind(ctx, 'tokenize'), 'tokenizer'))
  const embedding = async () => {
    const weights = await openModelWeights(modelDir)
    try {
      return growRows(await weights.readFloat('model.embed_tokens.weight'), Math.max(tok.vocabSize, config.vocabSize))
    } finally {
      await weights.close()
    }
  }
  const tensors = await initialPromptEmbeddings({
    numVirtualTokens: method.numVirtualTokens, hiddenSize: config.hiddenSize, seed: p.args.seed, embedding,
    textIds: method.promptTuningInit === 'TEXT' ? promptTextIds(tok, method.promptTuningInitText ?? '') : undefined,
  })
  const dir = join(ctx.workDir, 'initial-adapter')
  const { hiddenSize, numAttentionHeads, numHiddenLayers } = config
  await writeTrainArtifact(dir, { method: { ...method, shape: { hiddenSize, numAttentionHeads, numHiddenLayers } }, tensors, family, ...adapterBaseModel(p.model, modelDir) })
  return dir
}

/**
 * P-tuning's and prefix tuning's encoder start values (@tunekit/hf's initialPromptEncoder, the
 * tensors tfjs starts from, under PEFT's parameter names), into `<workDir>/initial-adapter/` for
 * the worker to copy into PEFT's PromptEncoder / PrefixEncoder.
 */
async function writeInitialEncoder(ctx: NodeContext, p: TrainParams): Promise<string> {
  const modelDir = await resolveModelDir(inputOfKind(ctx, 'model'))
  const { family, config } = await readModelConfig(modelDir)
  const method = p.method.kind === 'p-tuning' ? pTuningTrained(p.method, config) : p.method.kind === 'prefix-tuning' ? prefixTrained(p.method, config) : undefined
  if (!method) throw new Error(`writeInitialEncoder: method ${p.method.kind} has no prompt encoder`)
  const dir = join(ctx.workDir, 'initial-adapter')
  await writeTrainArtifact(dir, { method, tensors: initialPromptEncoder(method, config, p.args.seed), family, ...adapterBaseModel(p.model, modelDir) })
  return dir
}
